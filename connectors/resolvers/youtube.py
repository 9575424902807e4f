"""YouTube videos: title, channel, date and description from the watch page's player JSON,
and the transcript when one is published.

Which transcript: a track written by people in the video's own language, else the
auto-caption (which is always in the spoken language), else any human track. The video's
language is the auto-caption's, when there is one. No transcript at all (or an empty one):
the description, marked as such in the reason.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from defusedxml import ElementTree

from jiandu.connectors.errors import FetchError, ParseError
from jiandu.connectors.resolvers.base import Context, Resolved, parse_iso, tidy

_PLAYER_MARKERS = ("var ytInitialPlayerResponse = ", "ytInitialPlayerResponse = ",
                   "window[\"ytInitialPlayerResponse\"] = ")
WATCH_HEADERS = {"Accept-Language": "en-US,en;q=0.8"}
SEGMENTS_PER_PARAGRAPH = 12


@dataclass
class Track:
    language: str
    name: str
    auto: bool
    base_url: str


def player_response(page_text: str, url: str) -> dict:
    """The ytInitialPlayerResponse object embedded in a watch page."""
    decoder = json.JSONDecoder()
    for marker in _PLAYER_MARKERS:
        start = page_text.find(marker)
        if start >= 0:
            try:
                value, _ = decoder.raw_decode(page_text, start + len(marker))
            except ValueError as exc:
                raise ParseError(url, f"the watch page's player JSON is broken: {exc}") from exc
            if isinstance(value, dict):
                return value
    if "consent.youtube.com" in page_text or "before you continue" in page_text.lower():
        raise ParseError(url, "YouTube answered with its cookie-consent page, not the video")
    raise ParseError(url, "no player JSON in the watch page")


def caption_tracks(player: dict) -> list[Track]:
    renderer = (player.get("captions") or {}).get("playerCaptionsTracklistRenderer") or {}
    tracks = []
    for raw in renderer.get("captionTracks") or []:
        name = raw.get("name") or {}
        label = name.get("simpleText") or "".join(r.get("text", "") for r in name.get("runs", []))
        if raw.get("baseUrl") and raw.get("languageCode"):
            tracks.append(Track(language=raw["languageCode"], name=label,
                                auto=raw.get("kind") == "asr", base_url=raw["baseUrl"]))
    return tracks


def choose_track(tracks: list[Track]) -> Track | None:
    """The video's language by people, else its auto-caption, else any human track."""
    auto = next((t for t in tracks if t.auto), None)
    spoken = auto.language.split("-")[0] if auto else None
    human = [t for t in tracks if not t.auto]
    if spoken:
        same = next((t for t in human if t.language.split("-")[0] == spoken), None)
        if same:
            return same
        return auto
    return human[0] if human else None


def transcript_text(body: bytes, url: str) -> str:
    """Plain text of a timedtext answer (<transcript><text> or srv3 <timedtext><p>)."""
    if not body.strip():
        return ""
    try:
        root = ElementTree.fromstring(body)
    except Exception as exc:
        raise ParseError(url, f"the transcript is not XML: {exc}") from exc
    cues = root.iter("text") if root.tag == "transcript" else root.iter("p")
    lines = []
    for cue in cues:
        # Captions come entity-escaped twice (&amp;#39;): unescape until stable.
        text = "".join(cue.itertext())
        for _ in range(2):
            text = html.unescape(text)
        text = " ".join(text.split())
        if text:
            lines.append(text)
    paragraphs = [" ".join(lines[i:i + SEGMENTS_PER_PARAGRAPH])
                  for i in range(0, len(lines), SEGMENTS_PER_PARAGRAPH)]
    return "\n\n".join(paragraphs)


def resolve_youtube(ctx: Context, url: str, id: str) -> Resolved:
    watch_url = f"{ctx.bases.youtube.rstrip('/')}/watch?{urlencode({'v': id})}"
    page = ctx.get(watch_url, accept="text/html", headers=WATCH_HEADERS)
    player = player_response(page.body.decode(page.charset or "utf-8", errors="replace"), watch_url)
    status = player.get("playabilityStatus") or {}
    details = player.get("videoDetails") or {}
    if status.get("status") not in (None, "OK") and not details:
        raise FetchError(url, f"YouTube: the video is not playable ({status.get('status')}: "
                              f"{status.get('reason') or 'no reason given'})")
    micro = (player.get("microformat") or {}).get("playerMicroformatRenderer") or {}
    title = details.get("title") or (micro.get("title") or {}).get("simpleText")
    description = (details.get("shortDescription") or "").strip()
    track = choose_track(caption_tracks(player))
    transcript, note = "", ""
    if track is not None:
        try:
            transcript = _fetch_transcript(ctx, track)
        except FetchError as exc:
            note = f" (the transcript could not be read: {exc.reason})"
    parts = []
    if description:
        parts.append(f"Description\n\n{description}")
    if transcript:
        kind = "auto-generated" if track.auto else "published"
        parts.append(f"Transcript ({track.language}, {kind})\n\n{transcript}")
        reason = f"YouTube: {kind} transcript ({track.language}) and the description"
    else:
        if not description:
            raise ParseError(url, "YouTube: no transcript and no description to read" + note)
        reason = "YouTube: no transcript published; the description only" + note
        if track is not None and not note:
            reason = "YouTube: the transcript was empty; the description only"
    return Resolved(text=tidy("\n\n".join(parts)), title=title,
                    author=details.get("author") or micro.get("ownerChannelName"),
                    date=parse_iso(micro.get("publishDate") or micro.get("uploadDate")),
                    sitename="YouTube", language=track.language if transcript else None,
                    url=f"https://www.youtube.com/watch?v={id}", origin="youtube", reason=reason)


def _fetch_transcript(ctx: Context, track: Track) -> str:
    # The track's own URL names youtube.com; its signed query is what matters, and the base is
    # a setting (tests point it at 127.0.0.1).
    query = urlsplit(track.base_url).query
    timedtext_url = f"{ctx.bases.youtube_timedtext}?{query}"
    result = ctx.get(timedtext_url, accept="text/xml,application/xml;q=0.9,*/*;q=0.5")
    return transcript_text(result.body, timedtext_url)
