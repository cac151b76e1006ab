"""An LLM chat endpoint on FastAPI, logged with inferlog.

Run it with ``python examples/fastapi_llm.py`` (needs ``fastapi`` and ``uvicorn``),
then::

    curl -s localhost:8000/v1/chat -H 'content-type: application/json' \\
         -d '{"prompt": "How do I get a refund?", "user_id": "u-42"}'
    curl -sN localhost:8000/v1/chat/stream -H 'content-type: application/json' \\
         -d '{"prompt": "Tell me a story"}'

Every request gets an access record from ``ASGIMiddleware`` and every model call an
inference record, all with the same ``request_id`` (the one in the response's
``X-Request-ID``), as JSON lines in ``logs/fastapi_llm.jsonl`` and on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

import inferlog
from inferlog.middleware import ASGIMiddleware

MODEL_ID = "chat-llm"
MODEL_VERSION = "2026-11-15"

log = logging.getLogger("chat-api")


class ChatRequest(BaseModel):
    """The body of a chat request."""

    prompt: str = Field(min_length=1, max_length=8_000)
    user_id: str | None = None
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    seed: int | None = None


def count_tokens(text: object) -> int:
    """Token counter for the records; a real service would use the model's tokenizer."""
    return len(str(text).split())


def classify_intent(prompt: object) -> str:
    """A keyword intent classifier; swap in a small model for real traffic."""
    text = str(prompt).lower()
    if any(word in text for word in ("refund", "invoice", "charge")):
        return "billing"
    if any(word in text for word in ("password", "login", "account")):
        return "account"
    return "general"


async def fake_llm(prompt: str, temperature: float) -> AsyncIterator[str]:
    """Stands in for a model server: streams a reply word by word."""
    if "overload" in prompt:
        raise RuntimeError("CUDA out of memory while allocating the KV cache")
    await asyncio.sleep(0.02)  # prefill
    for word in f"You asked about: {prompt}. Here is a helpful answer.".split():
        await asyncio.sleep(0.005)  # decode
        yield word + " "


api = FastAPI(title="chat-api")


@api.post("/v1/chat")
async def chat(body: ChatRequest) -> dict[str, str | None]:
    """Answer in one piece."""
    if body.user_id:
        inferlog.bind(user_id=body.user_id)
    async with inferlog.inference(
        MODEL_ID,
        MODEL_VERSION,
        temperature=body.temperature,
        top_p=body.top_p,
        seed=body.seed,
        token_counter=count_tokens,
        intent_classifier=classify_intent,
    ) as call:
        call.request(body.prompt)
        answer = "".join([word async for word in fake_llm(body.prompt, body.temperature)])
        call.response(answer)
    if call.elapsed_ms > 1_000:
        log.warning("slow answer", extra={"latency_ms": call.elapsed_ms})
    return {"answer": answer.strip(), "request_id": inferlog.current_request_id()}


@api.post("/v1/chat/stream")
async def chat_stream(body: ChatRequest) -> StreamingResponse:
    """Stream the answer; the inference record is written when the stream ends."""
    if not body.prompt.strip():
        raise HTTPException(status_code=422, detail="empty prompt")
    generate = inferlog.inference(
        MODEL_ID,
        MODEL_VERSION,
        temperature=body.temperature,
        top_p=body.top_p,
        seed=body.seed,
        capture_args="prompt",
        capture_result=True,
        token_counter=count_tokens,
        intent_classifier=classify_intent,
    )(fake_llm)
    return StreamingResponse(generate(body.prompt, body.temperature), media_type="text/plain")


# Wrapping the whole app (rather than api.add_middleware) puts the middleware outside
# FastAPI's own error handler, so the 500 it makes of an exception also carries
# X-Request-ID and the access record counts its body.
app = ASGIMiddleware(api)


def setup_logging(log_file: str, *, console: bool = True) -> None:
    """Log JSON lines to ``log_file`` (and stderr), the way the service runs in production."""
    inferlog.configure(
        filename=log_file,
        console=console,
        static_fields={"service": "chat-api"},
    )


def main() -> None:
    """Serve on 127.0.0.1 with uvicorn."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-file", default="logs/fastapi_llm.jsonl")
    args = parser.parse_args()
    setup_logging(args.log_file)
    # log_config=None: uvicorn must not replace the logging configuration.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)
    inferlog.shutdown()


if __name__ == "__main__":
    main()
