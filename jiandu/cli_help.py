"""How `jiandu` talks at a terminal: conventional help and usage errors, whatever click it runs on.

Typer 0.25+ vendors click as `typer._click`, so the standalone `click` package's exceptions no
longer match what typer raises; `click_exception_types()` finds the classes typer really uses.
Typer 0.29's help tags every parameter with a type (`<bool>`, `<list[Path]>`) and writes
arguments as `{number}`: `conventional_help()` makes it read like git's and uv's (`NUMBER`,
`FILE...`, `--since DATE`, flags bare). pyproject bounds typer to the minor version these
hooks were written against; tests/test_cli_terminal.py checks the result through the
installed command.
"""

from __future__ import annotations

import typer


def click_exception_types() -> tuple[type[BaseException], type[BaseException]]:
    """(ClickException, Abort) as the click inside this typer defines them."""
    click_exception = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")
    return click_exception, typer.Abort


def _argument_name(parameter) -> str:
    name = parameter.metavar or (parameter.name or "").upper()
    if parameter.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name


def conventional_help() -> None:
    """Parameters in help and usage lines as conventional CLIs write them (idempotent)."""
    from typer import core

    argument, option = getattr(core, "TyperArgument", None), getattr(core, "TyperOption", None)
    if argument is None or option is None or getattr(argument, "_jiandu_help", False):
        return

    def argument_usage(self) -> str:
        name = _argument_name(self)
        return name if self.required else f"[{name}]"

    def option_type(self, ctx) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar:
            return self.metavar
        return (self.name or "value").upper()

    if hasattr(argument, "_usage_display_name"):
        argument._usage_display_name = argument_usage
    if hasattr(argument, "_rich_display_name"):
        argument._rich_display_name = _argument_name
    argument.display_name_raw = property(lambda self: self.metavar or (self.name or "").upper())
    argument.display_type_rich = lambda self, ctx: None
    argument.get_error_hint = lambda self, ctx=None: f"'{_argument_name(self)}'"
    option.display_type_rich = option_type
    argument._jiandu_help = True
