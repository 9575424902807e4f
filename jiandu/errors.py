"""Errors the application raises, as a small named tree.

JianduError
├── ConfigError        a setting or jiandu.toml is wrong (names the setting or file)
├── InputError         a file or value the user gave is wrong (names it)
│   └── connectors.opml.OpmlError
├── SummariseError     no valid summary could be had for a text (carries the reason)
├── connectors.errors.FetchError    fetching a URL failed (its own tree: the URL and the reason)
├── connectors.savedlinks.SavedFileError, connectors.mail.MailError
└── ...                and the errors of the other modules (each subclasses one of these)

Everything the user should read as one line is a JianduError: the CLI turns each into that
line and a non-zero exit, and lets anything else show its traceback (a bug).
"""


class JianduError(Exception):
    """Base of every error jiandu reports to the user."""


class ConfigError(JianduError):
    pass


class InputError(JianduError):
    pass


class SummariseError(JianduError):
    def __init__(self, reason: str, *, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.prompt_tokens = self.completion_tokens = self.requests = self.repairs = 0

    def spent(self, prompt_tokens: int, completion_tokens: int, requests: int,
              repairs: int = 0) -> None:
        """Record what the failed attempt cost, for the run's token, request and repair counts."""
        self.prompt_tokens, self.completion_tokens = prompt_tokens, completion_tokens
        self.requests, self.repairs = requests, repairs


class TooShortToSummarise(SummariseError):
    """The text has too little to summarise: the item is skipped once with this reason, not
    failed and retried (waiting will not make it longer)."""

    def __init__(self, reason: str):
        super().__init__(reason, retryable=False)
