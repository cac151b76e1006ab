"""The inferlog record schema: field names, their order, and the OpenTelemetry mapping.

Every stage that reads or writes a record field (the JSON and console formatters, the
``inference`` helper, the cloud sinks, the CLI) takes the names from here, so a field
is spelled in exactly one place. ``docs/schema.md`` describes each field.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "CANCELLED_ERROR_CODE",
    "CLIENT_ADDRESS",
    "COLLISION_PREFIX",
    "CORE_FIELDS",
    "DROPPED_FIELDS_FIELD",
    "ERROR_CODE",
    "EXCEPTION_FIELD",
    "FIELD_ORDER",
    "FORMAT_ERROR_FIELD",
    "INFERENCE_FIELDS",
    "INPUT_TOKEN_COUNT",
    "INPUT_VECTOR_LENGTH",
    "INTENT",
    "LATENCY_MS",
    "LEVEL",
    "LOGGER",
    "MESSAGE",
    "MESSAGE_ARGS_FIELD",
    "MESSAGE_ERROR_FIELD",
    "METHOD",
    "MODEL_ID",
    "MODEL_VERSION",
    "OTEL_EXCEPTION_MESSAGE",
    "OTEL_EXCEPTION_STACKTRACE",
    "OTEL_EXCEPTION_TYPE",
    "OTEL_NAMES",
    "OTEL_STACK_INFO",
    "OUTPUT_TOKEN_COUNT",
    "OUTPUT_VECTOR_LENGTH",
    "PATH",
    "REQUEST_ID",
    "REQUEST_PAYLOAD",
    "RESPONSE_PAYLOAD",
    "RESPONSE_SIZE",
    "SAMPLE_BUFFERED",
    "SAMPLE_RATE",
    "SCHEMAS",
    "SEED",
    "SPAN_ID",
    "STACK_INFO_FIELD",
    "STATUS",
    "STATUS_CODE",
    "STATUS_ERROR",
    "STATUS_OK",
    "STREAM_CHUNKS",
    "TEMPERATURE",
    "TIMESTAMP",
    "TIME_TO_FIRST_TOKEN_MS",
    "TOP_P",
    "TRACE_ID",
    "USER_AGENT",
    "USER_ID",
    "SchemaName",
    "field_name",
]

# One constant per field name, so that code spells each name once (docs/schema.md
# says what each field holds).
TIMESTAMP: Final = "timestamp"
LEVEL: Final = "level"
LOGGER: Final = "logger"
MESSAGE: Final = "message"
REQUEST_ID: Final = "request_id"
USER_ID: Final = "user_id"
MODEL_ID: Final = "model_id"
MODEL_VERSION: Final = "model_version"
LATENCY_MS: Final = "latency_ms"
INPUT_TOKEN_COUNT: Final = "input_token_count"
OUTPUT_TOKEN_COUNT: Final = "output_token_count"
TEMPERATURE: Final = "temperature"
TOP_P: Final = "top_p"
SEED: Final = "seed"
STATUS: Final = "status"
ERROR_CODE: Final = "error_code"
INTENT: Final = "intent"
REQUEST_PAYLOAD: Final = "request_payload"
RESPONSE_PAYLOAD: Final = "response_payload"
TRACE_ID: Final = "trace_id"
SPAN_ID: Final = "span_id"
#: Fraction of requests a sampler kept when it kept this record (see sampling).
SAMPLE_RATE: Final = "sample_rate"
#: ``True`` on a record that error-triggered buffering held and then released.
SAMPLE_BUFFERED: Final = "sample_buffered"

# The values of ``status`` and the error code of an abandoned call or request.
#: ``status`` of a call or request that completed.
STATUS_OK: Final = "ok"
#: ``status`` of a call or request that raised, answered 5xx or was marked failed.
STATUS_ERROR: Final = "error"
#: ``error_code`` of a call or request its consumer abandoned: a stream closed before
#: its end, a cancelled task, a client that went away.
CANCELLED_ERROR_CODE: Final = "cancelled"

# Further inference fields, written by ``inferlog.inference`` where they apply.
#: Milliseconds from the start of a call to its first token or chunk.
TIME_TO_FIRST_TOKEN_MS: Final = "time_to_first_token_ms"
#: Number of chunks a streamed call produced.
STREAM_CHUNKS: Final = "stream_chunks"
#: Length of the input vector of an embedding, vision or tabular model.
INPUT_VECTOR_LENGTH: Final = "input_vector_length"
#: Length of the output vector.
OUTPUT_VECTOR_LENGTH: Final = "output_vector_length"

# The access record's own fields, written by the ASGI and WSGI middleware; its
# request_id, latency_ms, status and error_code are the fields above.
#: HTTP method.
METHOD: Final = "method"
#: Request path, without the query string.
PATH: Final = "path"
#: HTTP status code of the response.
STATUS_CODE: Final = "status_code"
#: The peer's address.
CLIENT_ADDRESS: Final = "client_address"
#: The ``User-Agent`` header.
USER_AGENT: Final = "user_agent"
#: Bytes of response body sent.
RESPONSE_SIZE: Final = "response_size"

#: Fields every record has, first, in this order.
CORE_FIELDS: Final[tuple[str, ...]] = (TIMESTAMP, LEVEL, LOGGER, MESSAGE)

#: The inference fields, after the core ones and in this order, where present.
INFERENCE_FIELDS: Final[tuple[str, ...]] = (
    REQUEST_ID,
    USER_ID,
    MODEL_ID,
    MODEL_VERSION,
    LATENCY_MS,
    INPUT_TOKEN_COUNT,
    OUTPUT_TOKEN_COUNT,
    TEMPERATURE,
    TOP_P,
    SEED,
    STATUS,
    ERROR_CODE,
    INTENT,
    REQUEST_PAYLOAD,
    RESPONSE_PAYLOAD,
)

#: The order of the named fields; any other field follows them, in insertion order.
FIELD_ORDER: Final[tuple[str, ...]] = CORE_FIELDS + INFERENCE_FIELDS

#: Written after every other field: the stack of a ``stack_info=True`` call.
STACK_INFO_FIELD: Final = "stack_info"
#: Always the last field: ``{"type", "message", "stack"}`` of the logged exception.
EXCEPTION_FIELD: Final = "exception"

SchemaName = Literal["inferlog", "otel"]
#: The accepted values of ``JsonFormatter(schema=...)``.
SCHEMAS: Final[tuple[SchemaName, ...]] = ("inferlog", "otel")

#: inferlog name -> OpenTelemetry semantic-convention attribute name, for
#: ``schema="otel"``. Fields without a convention keep their inferlog name: a
#: ``model_version`` is not the provider's ``gen_ai.response.model``, a ``request_id``
#: is not the provider's ``gen_ai.response.id``, latency is a metric
#: (``gen_ai.client.operation.duration``, in seconds) rather than an attribute, and the
#: payloads are free-form where ``gen_ai.input.messages`` prescribes a message shape.
OTEL_NAMES: Final = MappingProxyType(
    {
        MODEL_ID: "gen_ai.request.model",
        TEMPERATURE: "gen_ai.request.temperature",
        TOP_P: "gen_ai.request.top_p",
        SEED: "gen_ai.request.seed",
        INPUT_TOKEN_COUNT: "gen_ai.usage.input_tokens",
        OUTPUT_TOKEN_COUNT: "gen_ai.usage.output_tokens",
        ERROR_CODE: "error.type",
        USER_ID: "enduser.id",
        STACK_INFO_FIELD: "code.stacktrace",
        METHOD: "http.request.method",
        PATH: "url.path",
        STATUS_CODE: "http.response.status_code",
        CLIENT_ADDRESS: "client.address",
        USER_AGENT: "user_agent.original",
        RESPONSE_SIZE: "http.response.body.size",
    }
)

#: With ``schema="otel"`` the exception object is written as these three attributes
#: (the general exception conventions); the stack becomes one newline-joined string.
OTEL_EXCEPTION_TYPE: Final = "exception.type"
OTEL_EXCEPTION_MESSAGE: Final = "exception.message"
OTEL_EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
#: Name of ``stack_info`` under ``schema="otel"`` (one newline-joined string).
OTEL_STACK_INFO: Final = OTEL_NAMES[STACK_INFO_FIELD]


def field_name(name: str, schema: SchemaName = "inferlog") -> str:
    """Return the output name of inferlog field ``name`` under ``schema``."""
    if schema == "otel":
        return OTEL_NAMES.get(name, name)
    return name


#: Added by the JSON formatter when the record cap forced it to leave fields out:
#: a string naming how many and which.
DROPPED_FIELDS_FIELD: Final = "dropped_fields"
#: Added when ``msg % args`` failed: what went wrong (the message is then the raw
#: ``msg`` and ``message_args`` holds the arguments).
MESSAGE_ERROR_FIELD: Final = "message_error"
MESSAGE_ARGS_FIELD: Final = "message_args"
#: Present only in the minimal line the formatter writes when formatting itself failed.
FORMAT_ERROR_FIELD: Final = "format_error"
#: Prefix given to an extra whose name collides with a core field (``extra.level``).
COLLISION_PREFIX: Final = "extra."
