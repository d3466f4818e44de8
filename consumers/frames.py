"""JSON text frames with a ``type``: one validation step every websocket endpoint shares.

Each endpoint declares its frames as small pydantic models (``Frame``
subclasses, one per ``type``) and builds a ``FrameSchema`` of them once.
``FrameSchema.parse`` turns a received frame into the model of its type, or
raises ``FrameError`` with a reason for the client, before any consumer
logic runs: the type is a string from the known set; the JSON is bounded in
size (``MAX_FRAME``) and depth (the parser's own limit); every number is
finite and within ``MAX_NUMBER``; every field holds what its model says (a
value where a value is expected, never a list or an object). What the
values mean (a filter, a callsign, a range) stays the consumer's business,
with its own error codes.

``BadFrames`` counts refusals: after ``MAX_BAD_FRAMES`` the endpoint closes
with ``POLICY_VIOLATION``. It logs the first refusal of a connection only,
and counts each in ``aprs_gateway_websocket_bad_frames_total``.
"""

import logging
from typing import Annotated, Union

from django.utils.translation import gettext
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter
from pydantic import ValidationError as SchemaError

from gateway import metrics
from gateway.names import CLOSE_EXTENSION

MAX_FRAME = 4096
MAX_BAD_FRAMES = 20
POLICY_VIOLATION = 1008
MAX_NUMBER = 2**53 - 1
"""Numbers a frame may hold: what a browser's JavaScript represents exactly."""

logger = logging.getLogger("gateway.frames")

Number = Union[
    Annotated[StrictInt, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)],
    Annotated[StrictFloat, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)],
]
Value = Union[StrictStr, Number, StrictBool, None]
"""One JSON value that is not a list or an object: fields the consumer checks itself."""
Text = StrictStr


class Frame(BaseModel):
    """A frame from a client: unknown fields are ignored, numbers must be finite."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False, frozen=True)


class FrameError(ValueError):
    pass


class FrameSchema:
    """The frames one endpoint accepts: ``FrameSchema(Subscribe, Unsubscribe)``."""

    def __init__(self, *models):
        self.types = sorted(model.model_fields["type"].annotation.__args__[0] for model in models)
        union = Union[models] if len(models) > 1 else models[0]
        self.adapter = TypeAdapter(Annotated[union, Field(discriminator="type")])

    def parse(self, text_data, bytes_data):
        """The frame as the model of its ``type``."""
        if text_data is None:
            raise FrameError(gettext("binary frames are not accepted; send JSON text"))
        encoded = text_data.encode("utf-8", "surrogatepass")
        if len(encoded) > MAX_FRAME:
            raise FrameError(gettext("frame larger than %(bytes)s bytes") % {"bytes": MAX_FRAME})
        try:
            return self.adapter.validate_json(encoded)
        except SchemaError as exc:
            raise FrameError(self.reason(exc.errors(include_url=False, include_input=False))) from None

    def reason(self, errors):
        """What was wrong, for people: the first field pydantic found wrong."""
        kind, loc = errors[0]["type"], errors[0]["loc"]
        if kind == "json_invalid":
            detail = errors[0].get("ctx", {}).get("error", "")
            if "hex escape" in detail or "surrogate" in detail:
                return gettext("text must be valid Unicode (a lone surrogate such as \\ud800 is not)")
            if "recursion limit" in detail:
                return gettext("the JSON is nested too deep")
            if "number out of range" in detail:
                return gettext("a number is out of range")
            return gettext("bad JSON: %(reason)s") % {"reason": detail}
        if kind == "union_tag_invalid":
            return gettext("unknown type %(type)s; expected one of %(types)s") % {
                "type": errors[0]["ctx"]["tag"][:40],
                "types": ", ".join(self.types),
            }
        if len(loc) < 2:  # not an object, or no "type"
            return gettext("a frame must be a JSON object with a 'type'")
        field = str(loc[1])
        if len(loc) == 2 and kind == "string_type":
            return gettext("'%(field)s' must be text") % {"field": field}
        kinds = {error["type"] for error in errors if error["loc"][:2] == loc[:2]}
        if kinds & {"less_than_equal", "greater_than_equal", "finite_number"}:
            return gettext("'%(field)s' is out of range") % {"field": field}
        return gettext("'%(field)s' must be a single value: text, a number, true, false or null") % {"field": field}


class BadFrames:
    """Counts refused frames; ``refused()`` is True once the client has had enough chances.
    The first refusal of a connection is logged (with its endpoint), later ones only counted."""

    def __init__(self, endpoint, limit=MAX_BAD_FRAMES):
        self.endpoint = endpoint
        self.limit = limit
        self.count = 0
        self.counter = metrics.websocket_bad_frames.labels(endpoint)

    def refused(self, reason=""):
        self.count += 1
        self.counter.inc()
        if self.count == 1:
            logger.info("%s: a bad frame (%s); later ones on this connection are only counted", self.endpoint, reason)
        return self.count >= self.limit


def close_for_policy(scope):
    """Close with 1008 through our server's extension; False where it is not offered
    (the caller then closes through Channels)."""
    extension = scope.get("extensions", {}).get(CLOSE_EXTENSION)
    if extension is None:
        return False
    extension["close"](POLICY_VIOLATION, "too many bad frames")
    return True
