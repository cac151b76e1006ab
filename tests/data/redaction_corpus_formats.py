"""Samples of the redaction corpus in the formats real logs come in, and their look-alikes.

Each kind of secret or PII is written into phrases (several languages), and each phrase
into the places an inference service logs it: a plain log line, a JSON request body,
JSON escaped inside JSON, OpenTelemetry span attributes (as the collector's debug
exporter prints them and as JSON), a Python repr, a tool call. The negatives are lines
full of things that look like secrets and are not: ids, UUIDs, hashes, versions,
counts, timestamps, prices, model names, token counts, seeds, and metadata whose key
mentions a secret (``secret_version=5``).

Called by ``make_redaction_corpus.py`` with its value generators; every value is
synthetic.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable
from typing import Any

Labels = list[tuple[str, str]]
Sample = tuple[str, str, Labels]

MODELS = ["gpt-4o-mini", "claude-3-5-sonnet-20240620", "llama-3.1-8b-instruct", "mistral-large"]


class Corpus:
    """Builds the samples; ``gen`` maps a kind to its value generator."""

    def __init__(self, rng: random.Random, gen: dict[str, Callable[[], str]]) -> None:
        self.rng = rng
        self.gen = gen
        self.samples: list[Sample] = []

    # --- helpers ---------------------------------------------------------------------

    def rand(self, chars: str, n: int) -> str:
        return "".join(self.rng.choice(chars) for _ in range(n))

    def ts(self) -> str:
        r = self.rng
        return (
            f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:"
            f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z"
        )

    def rid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def add(self, kind: str, text: str, labels: Labels) -> None:
        for _detector, value in labels:
            assert value in text, (value, text)
        self.samples.append((kind, text, labels))

    # The formats one phrase is logged in.
    def formats(self, phrase: str) -> list[tuple[str, str]]:
        r = self.rng
        model = r.choice(MODELS)
        body = {"model": model, "messages": [{"role": "user", "content": phrase}]}
        return [
            ("log", f"{self.ts()} INFO gateway.request request_id={self.rid()} prompt={phrase!r}"),
            ("json", json.dumps(body, ensure_ascii=False)),
            (
                "escaped_json",
                json.dumps(
                    {"event": "upstream", "body": json.dumps(body, ensure_ascii=False)},
                    ensure_ascii=False,
                ),
            ),
            (
                "otel",
                f"Span #{r.randint(0, 40)}\n    Attributes:\n"
                f"     -> gen_ai.request.model: Str({model})\n"
                f"     -> gen_ai.prompt.0.content: Str({phrase})\n"
                f"     -> gen_ai.usage.input_tokens: Int({r.randint(5, 900)})",
            ),
            (
                "otel_json",
                json.dumps(
                    {
                        "name": "chat " + model,
                        "attributes": {"gen_ai.system": "openai", "gen_ai.prompt": phrase},
                    },
                    ensure_ascii=False,
                ),
            ),
            ("repr", repr({"role": "user", "content": phrase, "temperature": 0.2})),
        ]

    def phrases(
        self, kind: str, templates: list[str], count: int, label: str | None = None
    ) -> None:
        """``count`` values of ``kind``, each in a template, each in every format."""
        for index in range(count):
            value = self.gen[kind]()
            phrase = templates[index % len(templates)].format(v=value)
            for fmt, text in self.formats(phrase):
                if value in text:
                    self.add(fmt, text, [(label or kind, value)])

    def keyed(self, kind: str, keys: list[str], count: int, label: str | None = None) -> None:
        """``count`` values of ``kind`` under each of ``keys`` in structured formats."""
        r = self.rng
        for index in range(count):
            value = self.gen[kind]()
            key = keys[index % len(keys)]
            record = {"user_id": f"u-{r.randint(100, 99999)}", key: value, "ok": True}
            texts = [
                ("json", json.dumps(record)),
                ("escaped_json", json.dumps({"payload": json.dumps(record)})),
                ("repr", repr(record)),
                ("log", f"{self.ts()} DEBUG kyc.lookup {key}={value} status=200"),
                ("otel", f"     -> app.user.{key}: Str({value})"),
            ]
            for fmt, text in texts:
                if value in text:
                    self.add(fmt, text, [(label or kind, value)])


PHRASES: dict[str, list[str]] = {
    "email": [
        "Please send the invoice to {v} by Friday.",
        "Bitte schicken Sie die Rechnung an {v}, danke!",
        "Envoyez la facture à {v} s'il vous plaît.",
        "Mi correo es {v}, escríbeme.",
        "私のメールアドレスは{v}です。",
        "我的邮箱是{v}\uff0c请联系我。",
        "Il mio indirizzo email è {v}.",
        "Mijn e-mailadres is {v}.",
    ],
    "phone": [
        "Ruf mich an unter {v}, bitte.",
        "電話番号は{v}です。",
        "我的电话是{v}。",
        "Call me back at {v} tonight.",
        "Mon numéro : {v}",
        "Mi teléfono es {v}.",
        "Il mio numero è {v}, grazie.",
        "Meu telefone é {v}.",
    ],
    "card": [
        "Meine Kreditkarte {v} wurde doppelt belastet.",
        "カード番号{v}で支払いました。",
        "My card {v} was declined.",
        "Ma carte {v} a été refusée.",
        "Pagué con la tarjeta {v}.",
    ],
    "iban": [
        "Bitte überweisen Sie auf {v}.",
        "Virement vers {v} demain.",
        "Wire the refund to {v} please.",
        "Mijn rekening is {v}.",
    ],
    "ipv4": [
        "My server {v} keeps timing out.",
        "サーバー{v}に接続できません。",
        "Der Host {v} antwortet nicht.",
        "el servidor {v} no responde",
    ],
    "ipv6": [
        "Our gateway at {v} drops packets.",
        "Die Adresse {v} ist nicht erreichbar.",
    ],
    "ssn": [
        "My SSN is {v} for the tax form.",
        "For the W-2, social security number {v}.",
    ],
    "aws_access_key": ["boto3 says the key id {v} is invalid", "Ist {v} eine gültige Key-ID?"],
    "aws_secret_key": ["and the other one is {v}, right?", "die zweite Zeile lautet {v}"],
    "openai_key": ["My key {v} returns 401.", "Mein Schlüssel {v} funktioniert nicht."],
    "anthropic_key": ["Using {v} I get overloaded errors.", "キー{v}が使えません"],
    "github_token": ["git push fails with {v}", "El token {v} expiró"],
    "slack_token": ["our bot uses {v} and cannot post", "Slack-Token {v} abgelaufen?"],
    "stripe_key": ["is {v} a live key?", "la clé {v} est refusée"],
    "google_api_key": ["Gemini rejects {v}", "Maps sagt {v} ist ungültig"],
    "api_token": ["the CI uses {v} to pull", "mi token {v} no sirve", "push with {v} fails"],
    "jwt": ["decode this for me: {v}", "dieses Token {v} ist abgelaufen"],
    "url_password": [
        "connect to postgres://app:{v}@db.internal:5432/prod",
        "Die URL https://deploy:{v}@registry.example.com geht nicht",
    ],
}

PASSWORD_PROSE = [
    "My password is {v}, please reset my 2FA.",
    "Mein Passwort ist {v} und geht nicht mehr.",
    "Mijn wachtwoord is {v} maar het werkt niet.",
    "Mon mot de passe est {v} mais il ne marche pas.",
    "Mi contraseña es {v} y no funciona.",
    "La mia password è {v} ma non funziona.",
    "Minha senha é {v} e não funciona.",
    "Das Kennwort lautet {v}.",
    "パスワードは{v}です。",
    "我的密码是{v}\uff0c登录不了。",
    "the password for the admin account is {v}",
]

SECRET_KEYS = [
    "password",
    "db_password",
    "client_secret",
    "api_key",
    "x-api-key",
    "refresh_token",
    "OPENAI_API_KEY",
    "secret_key",
    "passwd",
    "access_token",
    "session_id",
    "new_password_confirm",
]

SSN_KEYS = ["ssn", "taxpayer_id", "social_security_number", "tax_id", "customer_ssn", "SSN"]

AUTH_SCHEMES = ["ApiKey", "Token", "SSWS", "Key", "sso-key", "Custom-Scheme"]


def build(rng: random.Random, gen: dict[str, Callable[[], str]]) -> list[Sample]:
    """Every sample of this module, positives then negatives."""
    corpus = Corpus(rng, gen)
    for kind, templates in PHRASES.items():
        corpus.phrases(kind, templates, 4 if len(templates) < 4 else len(templates))
    corpus.keyed("ssn_digits", SSN_KEYS, 12, label="ssn")
    corpus.keyed("phone_compact", ["phone", "mobile", "phone_number", "tel"], 8, label="phone")
    corpus.keyed("secret", SECRET_KEYS, 24)
    corpus.phrases("password", PASSWORD_PROSE, 22, label="secret")
    _headers(corpus)
    _private_keys(corpus)
    _tool_calls(corpus)
    _negatives(corpus)
    return corpus.samples


def _headers(corpus: Corpus) -> None:
    r = corpus.rng
    for index in range(18):
        token = corpus.gen["bearer_token"]()
        scheme = AUTH_SCHEMES[index % len(AUTH_SCHEMES)]
        key = corpus.gen["secret"]().replace("!", "x").replace("@", "y").replace("#", "z")
        basic = corpus.gen["basic_auth"]()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        texts = [
            ("log", f"DEBUG httpx headers Authorization: Bearer {token}", "bearer_token", token),
            ("json", json.dumps({"headers": headers}), "bearer_token", token),
            (
                "escaped_json",
                json.dumps({"request": json.dumps({"headers": headers})}),
                "bearer_token",
                token,
            ),
            (
                "otel",
                f"     -> http.request.header.authorization: Str(Bearer {token})",
                "bearer_token",
                token,
            ),
            ("repr", repr({"authorization": f"Bearer {token}"}), "bearer_token", token),
            ("log", f"DEBUG upstream Authorization: {scheme} {key}", "secret", key),
            ("json", json.dumps({"authorization": f"{scheme} {key}"}), "secret", key),
            ("log", f"DEBUG proxy Authorization: Basic {basic}", "basic_auth", basic),
            ("json", json.dumps({"Authorization": f"Basic {basic}"}), "basic_auth", basic),
        ]
        for fmt, text, detector, value in texts[index % 3 :: 2]:
            corpus.add(fmt, text, [(detector, value)])
        if r.random() < 0.3:
            corpus.add("log", f"curl -H 'Authorization: Bearer {token}'", [("bearer_token", token)])


PEM_KINDS = ["RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", ""]


def _pem(rng: random.Random, kind: str) -> tuple[str, str]:
    body = base64.b64encode(rng.randbytes(rng.choice([300, 600, 1190]))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    if kind == "PGP":
        head = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\nComment: test\n\n"
        tail = f"\n={body[:4]}\n-----END PGP PRIVATE KEY BLOCK-----\n"
        return head + "\n".join(lines) + tail, lines[1]
    if kind == "LEGACY":
        head = (
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
            "DEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n"
        )
        return head + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----\n", lines[1]
    block = (
        f"-----BEGIN {kind}PRIVATE KEY-----\n"
        + "\n".join(lines)
        + f"\n-----END {kind}PRIVATE KEY-----\n"
    )
    return block, lines[1]


def _private_keys(corpus: Corpus) -> None:
    r = corpus.rng
    for index, kind in enumerate([*PEM_KINDS, "PGP", "LEGACY"] * 3):
        pem, line = _pem(r, kind)
        service_account = {
            "type": "service_account",
            "project_id": "demo",
            "private_key_id": corpus.rand("0123456789abcdef", 40),
            "private_key": pem,
            "client_email": "svc@demo.iam.gserviceaccount.com",
        }
        escaped = json.dumps(service_account)
        texts = [
            ("json", escaped),
            ("escaped_json", json.dumps({"config": escaped})),
            ("log", f"DEBUG loaded key\n{pem}from vault"),
            ("json", json.dumps({"tls": {"key_pem": pem}})),
            ("repr", repr({"tls_key": pem})),
        ]
        fmt, text = texts[index % len(texts)]
        labels = [("private_key", line)]
        if fmt == "json" and "client_email" in text:
            labels.append(("email", "svc@demo.iam.gserviceaccount.com"))
        if fmt == "escaped_json":
            labels.append(("email", "svc@demo.iam.gserviceaccount.com"))
        corpus.add(fmt, text, labels)


def _tool_calls(corpus: Corpus) -> None:
    for _ in range(8):
        phone = corpus.gen["phone"]()
        email = corpus.gen["email"]()
        call = {
            "type": "function",
            "function": {
                "name": "send_message",
                "arguments": json.dumps({"to": phone, "cc": email, "body": "Your order shipped"}),
            },
        }
        corpus.add(
            "tool_call",
            json.dumps({"tool_calls": [call]}),
            [("phone", phone), ("email", email)],
        )


def _negatives(corpus: Corpus) -> None:
    r = corpus.rng
    hexd = "0123456789abcdef"
    for _ in range(30):
        record = {
            "request_id": corpus.rid(),
            "trace_id": corpus.rand(hexd, 32),
            "span_id": corpus.rand(hexd, 16),
            "model": r.choice(MODELS),
            "seed": r.randint(10**9, 2**31),
            "usage": {
                "prompt_tokens": r.randint(1, 9000),
                "completion_tokens": r.randint(1, 4000),
                "total_tokens": r.randint(1, 13000),
            },
            "latency_ms": round(r.uniform(20, 4000), 1),
            "created": r.randint(1_700_000_000, 1_800_000_000),
            "price_usd": round(r.uniform(0.0001, 3), 4),
        }
        corpus.add("json", json.dumps(record), [])
        corpus.add("escaped_json", json.dumps({"body": json.dumps(record)}), [])
        corpus.add("repr", repr(record), [])
    for _ in range(20):
        metadata: dict[str, Any] = {
            "secret_version": r.randint(1, 40),
            "api_key_count": r.randint(0, 9),
            "password_updated_at": corpus.ts(),
            "password_expires_in_days": r.choice([30, 60, 90, 180]),
            "api_key_last_used_at": corpus.ts(),
            "secret_rotation_enabled": r.choice([True, False]),
            "credential_type": r.choice(["oauth", "api_key", "service_account"]),
            "api_key_id": corpus.rid(),
            "secret_name": r.choice(["prod-db", "openai", "stripe-webhook"]),
            "password_min_length": r.randint(8, 16),
            "cookie_consent": r.choice(["granted", "denied"]),
        }
        keys = r.sample(sorted(metadata), 5)
        subset = {k: metadata[k] for k in keys}
        corpus.add("json", json.dumps(subset), [])
        pairs = " ".join(f"{k}={v}" for k, v in subset.items())
        corpus.add("log", f"INFO account.audit {pairs}", [])
        corpus.add("repr", repr(subset), [])
        corpus.add(
            "otel",
            "\n".join(f"     -> account.{k}: Str({v})" for k, v in subset.items()),
            [],
        )
    for _ in range(20):
        version = ".".join(str(r.randint(0, 30)) for _ in range(4))
        ids = [
            f"INFO deploy build {version} rolled out to 3 pods",
            f"INFO client Chrome/{r.randint(90, 130)}.0.0.0 Safari/537.36 "
            f"seed={r.randint(2 * 10**9, 2**31)}",
            f"DEBUG pip install vllm=={version}",
            f"INFO firmware v{version} on node-{r.randint(1, 64)}",
            f"INFO order_id={r.randint(2 * 10**9, 9 * 10**9)} total=${r.randint(5, 999)}.99",
            f"INFO invoice {r.randint(100_000_000, 899_999_999)} paid, sku {corpus.rand(hexd, 12)}",
            f"INFO sha256={corpus.rand(hexd, 64)} size={r.randint(1, 10**9)}",
            f"INFO chatcmpl-{corpus.rand(string.ascii_letters + string.digits, 29)} done",
            f"INFO batch {r.randint(1, 9999)}/{r.randint(10000, 99999)} "
            f"tokens/s={r.uniform(10, 900):.1f}",
            f"DEBUG cache key=prompt:{corpus.rand(hexd, 40)} ttl=3600",
        ]
        corpus.add("log", r.choice(ids), [])
    prose = [
        "Ich habe mein Passwort vergessen, wie kann ich es zurücksetzen?",
        "Mein Passwort ist abgelaufen.",
        "Mijn wachtwoord is verlopen, wat nu?",
        "J'ai oublié mon mot de passe.",
        "Mon mot de passe est trop court selon le site.",
        "¿Cómo cambio mi contraseña?",
        "Mi contraseña es incorrecta según la app.",
        "La mia password è scaduta ieri.",
        "Esqueci minha senha, pode ajudar?",
        "パスワードを忘れました。",
        "我忘记了密码。",
        "My password is too short according to the form.",
        "The password is required for version 2.0 and later.",
        "What is the difference between a token and a session?",
        "Explain how the Authorization header works with Bearer schemes.",
        "Der Token-Zähler steht bei 4096, max_tokens=8192.",
        "Le modèle gpt-4o coûte 2,50 $ par million de tokens.",
        "El modelo llama-3.1-70b tiene 70 mil millones de parámetros.",
        "モデルgpt-4o-miniの出力は512トークンでした。",
        "请用中文总结这段对话\uff0c不超过200字。",
        "Version 10.0.19045.3803 of Windows, build 22631.",
        "Call the support line? No, just describe what a phone tree is.",
    ]
    for text in prose:
        corpus.add("prose", text, [])
        corpus.add(
            "json",
            json.dumps({"messages": [{"role": "user", "content": text}]}, ensure_ascii=False),
            [],
        )
