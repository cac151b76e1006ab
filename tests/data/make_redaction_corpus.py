"""Write tests/data/redaction_corpus.jsonl: labelled prompts, payloads and log lines.

Run ``.venv/bin/python tests/data/make_redaction_corpus.py`` to regenerate. The output
is deterministic (a fixed seed), so the file only changes when this script does.

Every line is ``{"id", "kind", "text", "labels": [{"detector", "value"}, ...]}``; a
sample without labels is a hard negative that must come out unchanged. All values
are synthetic: generated numbers that pass the right checksums, made-up names and
documentation address ranges.
"""

from __future__ import annotations

import base64
import json
import random
import string
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redaction_corpus_formats as formats  # a sibling module, not a package

OUT = Path(__file__).with_name("redaction_corpus.jsonl")
rng = random.Random(20261129)

ALNUM = string.ascii_letters + string.digits
FIRST = ["alice", "bob", "carol", "dmitri", "eva", "farah", "li", "mateo", "noor", "olga"]
LAST = ["smith", "okafor", "tanaka", "garcia", "muller", "kowalski", "nguyen", "haddad"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example.io", "uni.example.edu"]


def rand(chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def mixed(n: int, extra: str = "") -> str:
    """Random token that surely has upper, lower and a digit."""
    while True:
        value = rand(ALNUM + extra, n)
        if (
            any(c.isupper() for c in value)
            and any(c.islower() for c in value)
            and any(c.isdigit() for c in value)
        ):
            return value


def luhn_complete(body: str) -> str:
    for check in "0123456789":
        number = body + check
        total = 0
        for i, ch in enumerate(reversed(number)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return number
    raise AssertionError


def luhn_fail(body: str) -> str:
    good = luhn_complete(body)
    return good[:-1] + str((int(good[-1]) + 3) % 10)


# --- value generators --------------------------------------------------------------------


def email() -> str:
    sep = rng.choice([".", "_", "", "+ml."])
    return f"{rng.choice(FIRST)}{sep}{rng.choice(LAST)}{rng.randint(0, 99)}@{rng.choice(DOMAINS)}"


def phone() -> str:
    area = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    exch = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    line = f"{rng.randint(0, 9999):04d}"
    style = rng.randrange(9)
    if style == 0:
        return f"({area}) {exch}-{line}"
    if style == 1:
        return f"{area}-{exch}-{line}"
    if style == 2:
        return f"{area}.{exch}.{line}"
    if style == 3:
        return f"+1 {area} {exch} {line}"
    if style == 4:
        return f"+1-{area}-{exch}-{line}"
    if style == 5:
        return f"+1{area}{exch}{line}"
    intl = [
        lambda: f"+44 20 {rng.randint(7000, 7999)} {rng.randint(1000, 9999)}",
        lambda: f"+49 30 {rng.randint(100000, 999999)}",
        lambda: (
            f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}"
        ),
        lambda: f"+91-{rng.randint(70000, 99999)}-{rng.randint(10000, 99999)}",
        lambda: f"+81 3-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        lambda: f"+61 2 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        lambda: f"+34 {rng.randint(600, 699)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
        lambda: f"+4917{rng.randint(10000000, 99999999)}",
    ]
    return rng.choice(intl)()


CARD_BRANDS = [("4", 16), ("4", 13), ("51", 16), ("53", 16), ("2221", 16), ("2720", 16)]
CARD_BRANDS += [("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("36", 14), ("3528", 16)]
CARD_BRANDS += [("62", 19), ("4", 19)]


def card_digits(valid: bool = True) -> str:
    prefix, length = rng.choice(CARD_BRANDS)
    body = prefix + rand(string.digits, length - len(prefix) - 1)
    return luhn_complete(body) if valid else luhn_fail(body)


def format_card(number: str) -> str:
    style = rng.choice(["", " ", "-"])
    if not style:
        return number
    if len(number) == 15:
        return style.join([number[:4], number[4:10], number[10:]])
    return style.join(number[i : i + 4] for i in range(0, len(number), 4))


def card() -> str:
    return format_card(card_digits())


def ssn() -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    return rng.choice(
        [f"{digits[:3]}-{digits[3:5]}-{digits[5:]}", f"{digits[:3]} {digits[3:5]} {digits[5:]}"]
    )


IBAN_LENGTHS = {"GB": 22, "DE": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "BE": 16}
IBAN_LENGTHS.update({"CH": 21, "PL": 28, "SE": 24, "IE": 22, "AT": 20, "PT": 25, "NO": 15})


def iban(valid: bool = True) -> str:
    country = rng.choice(sorted(IBAN_LENGTHS))
    length = IBAN_LENGTHS[country]
    if country in ("GB", "IE", "NL"):
        bban = rand(string.ascii_uppercase, 4) + rand(string.digits, length - 8)
    else:
        bban = rand(string.digits, length - 4)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + 7) % 97 + 2
    compact = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def ipv4() -> str:
    first = rng.choice([8, 23, 34, 52, 81, 100, 172, 185, 192, 198, 203, 10])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6() -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    groups[0] = rng.choice(["2001", "2a02", "2607", "fe80", "2600"])
    if rng.random() < 0.5:
        start = rng.randint(2, 4)
        return ":".join(groups[:start]) + "::" + ":".join(groups[start + 2 :])
    return ":".join(groups)


def aws_access_key() -> str:
    return rng.choice(["AKIA", "ASIA"]) + rand(string.ascii_uppercase + "234567", 16)


def aws_secret_key() -> str:
    while True:
        value = mixed(40, "/+")
        if "//" not in value:
            return value


def openai_key() -> str:
    return rng.choice(["sk-proj-", "sk-", "sk-svcacct-"]) + mixed(48, "_-")


def anthropic_key() -> str:
    return "sk-ant-api03-" + mixed(80, "_-") + "AA"


def github_token() -> str:
    if rng.random() < 0.3:
        return "github_pat_" + mixed(22) + "_" + mixed(59)
    return f"gh{rng.choice('pousr')}_" + mixed(36)


def slack_token() -> str:
    if rng.random() < 0.25:
        return (
            f"https://hooks.slack.com/services/T{mixed(8).upper()}/B{mixed(8).upper()}/{mixed(24)}"
        )
    return f"xox{rng.choice('bpa')}-{rand(string.digits, 12)}-{rand(string.digits, 12)}-{mixed(24)}"


def stripe_key() -> str:
    return rng.choice(["sk_live_", "sk_test_", "rk_live_", "whsec_"]) + mixed(24)


def google_api_key() -> str:
    if rng.random() < 0.3:
        return "ya29." + mixed(60, "_-")
    return "AIza" + mixed(35, "_-")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt() -> str:
    header = _b64url(json.dumps({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    payload = _b64url(
        json.dumps({"sub": str(rng.randint(1000, 99999)), "iat": 1700000000}).encode()
    )
    return f"{header}.{payload}.{_b64url(rng.randbytes(32))}"


def bearer_token() -> str:
    return mixed(rng.randint(24, 48), "-._")


def basic_auth() -> str:
    user = rng.choice(FIRST)
    password = mixed(rng.randint(8, 16))
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def url_password() -> str:
    return mixed(rng.randint(8, 20))


def secret_value() -> str:
    return mixed(rng.randint(8, 24), "!@#$%^*")


def private_key_block(escaped: bool) -> tuple[str, str]:
    kind = rng.choice(["RSA ", "EC ", "OPENSSH ", ""])
    lines = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(rng.randint(3, 8))]
    body = "\n".join(lines)
    block = f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"
    if escaped:
        block = block.replace("\n", "\\n")
    return block, lines[0]


# --- positive samples --------------------------------------------------------------------

Sample = dict[str, object]
samples: list[Sample] = []


def add(kind: str, text: str, labels: list[tuple[str, str]]) -> None:
    samples.append(
        {
            "id": len(samples),
            "kind": kind,
            "text": text,
            "labels": [{"detector": d, "value": v} for d, v in labels],
        }
    )


Template = tuple[str, str]  # (kind, text with {v})
TEMPLATES: dict[str, list[Template]] = {
    "email": [
        ("prompt", "Hi, I'm {name}. Please send the invoice to {v} by Friday."),
        ("payload", '{{"messages": [{{"role": "user", "content": "my email is {v}"}}]}}'),
        ("log", "INFO user.signup email={v} plan=pro latency_ms=41.2"),
        ("log", "WARN smtp bounce for <{v}>: mailbox full"),
        ("prompt", "Can you rewrite this: 'Contact {v} for refunds.'"),
    ],
    "phone": [
        ("prompt", "You can reach me on {v} after 6pm."),
        ("log", "INFO sms.sent to={v} status=delivered"),
        ("payload", '{{"customer": {{"phone": "{v}", "tier": "gold"}}}}'),
        ("prompt", "My number changed, it's now {v}. Update my profile please."),
    ],
    "card": [
        ("prompt", "My card {v} was charged twice, can you refund one?"),
        ("log", "ERROR payment.declined card={v} amount=19.99 currency=USD"),
        ("payload", '{{"payment": {{"pan": "{v}", "exp": "12/29"}}}}'),
        ("prompt", "Use the card ending... actually the full number is {v}."),
    ],
    "ssn": [
        ("prompt", "For the tax form my SSN is {v}."),
        ("log", "DEBUG kyc.check ssn={v} result=pass"),
        ("payload", '{{"applicant": {{"ssn_number": "{v}"}}}}'),
    ],
    "iban": [
        ("prompt", "Please wire the refund to IBAN {v} in my name."),
        ("log", "INFO payout.created iban={v} amount=1200.00"),
        ("payload", '{{"beneficiary": {{"account": "{v}"}}}}'),
    ],
    "ipv4": [
        ("log", "INFO request from {v} path=/v1/chat status=200"),
        ("log", 'WARN rate limit exceeded client_ip="{v}" limit=60/min'),
        ("prompt", "My server at {v} keeps timing out, why?"),
    ],
    "ipv6": [
        ("log", "INFO request from {v} path=/v1/embed status=200"),
        ("log", "DEBUG upstream [{v}]:443 connected in 12ms"),
    ],
    "aws_access_key": [
        ("log", "ERROR s3 access denied for key {v} bucket=models"),
        ("prompt", "Why does boto3 fail with access key {v}?"),
    ],
    "aws_secret_key": [
        ("prompt", "here are my creds: {v} - is that format right?"),
        ("log", "DEBUG loaded credentials from profile: {v}"),
    ],
    "openai_key": [
        ("prompt", "My key {v} returns 401, help"),
        ("log", "DEBUG client init with {v}"),
    ],
    "anthropic_key": [
        ("prompt", "Using {v} I get overloaded errors."),
        ("log", "DEBUG anthropic client key {v}"),
    ],
    "github_token": [
        ("log", "ERROR git clone https://github.com/org/repo failed with token {v}"),
        ("prompt", "Is {v} a classic or fine-grained token?"),
    ],
    "slack_token": [
        ("log", "INFO notify via {v} channel=#alerts"),
        ("prompt", "Our bot uses {v}, why can't it post?"),
    ],
    "stripe_key": [
        ("log", "ERROR stripe auth failed for {v}"),
        ("prompt", "Is {v} a live or test key?"),
    ],
    "google_api_key": [
        ("log", "WARN maps quota exceeded key={v}"),
        ("prompt", "Gemini rejects my key {v}."),
    ],
    "jwt": [
        ("log", "DEBUG verified id {v} for user"),
        ("payload", '{{"session": {{"id_jwt_value": "{v}"}}}}'),
        ("prompt", "Decode this for me: {v}"),
    ],
    "bearer_token": [
        ("log", "DEBUG outgoing headers Authorization: Bearer {v}"),
        ("log", "DEBUG curl -H 'authorization: bearer {v}' https://api.example.com"),
    ],
    "basic_auth": [
        ("log", "DEBUG request header Authorization: Basic {v}"),
        ("prompt", "Why is Basic {v} rejected by nginx?"),
    ],
    "url_password": [
        ("log", "INFO connecting to postgres://app:{v}@db.internal:5432/prod"),
        ("log", "ERROR redis://default:{v}@cache.example.com:6379/0 unreachable"),
        ("prompt", "Is https://deploy:{v}@registry.example.com a safe URL to share?"),
    ],
    "secret": [
        ("log", "DEBUG login attempt user=bob password={v} ok=false"),
        ("payload", '{{"client_id": "web", "client_secret": "{v}"}}'),
        ("log", "DEBUG env OPENAI_API_TOKEN={v} loaded"),
        ("prompt", "my config has api_key: '{v}', is that right?"),
        ("log", "DEBUG query ?session_id={v}&page=2"),
    ],
}

GENERATORS: dict[str, Callable[[], str]] = {
    "email": email,
    "phone": phone,
    "card": card,
    "ssn": ssn,
    "iban": iban,
    "ipv4": ipv4,
    "ipv6": ipv6,
    "aws_access_key": aws_access_key,
    "aws_secret_key": aws_secret_key,
    "openai_key": openai_key,
    "anthropic_key": anthropic_key,
    "github_token": github_token,
    "slack_token": slack_token,
    "stripe_key": stripe_key,
    "google_api_key": google_api_key,
    "jwt": jwt,
    "bearer_token": bearer_token,
    "basic_auth": basic_auth,
    "url_password": url_password,
    "secret": secret_value,
}

PER_DETECTOR = 16

for detector, templates in TEMPLATES.items():
    for i in range(PER_DETECTOR):
        kind, template = templates[i % len(templates)]
        value = GENERATORS[detector]()
        name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
        add(kind, template.format(v=value, name=name), [(detector, value)])

for i in range(12):
    block, first_line = private_key_block(escaped=i % 2 == 1)
    kind = "payload" if i % 2 else "log"
    text = (
        f'{{"config": {{"tls_key_pem": "{block}"}}}}'
        if i % 2
        else f"DEBUG loaded key\n{block}\nfrom vault"
    )
    add(kind, text, [("private_key", first_line)])

# SSNs announced by name, without separators.
for _ in range(4):
    digits = ssn().replace("-", "").replace(" ", "")
    add("prompt", f"SSN: {digits} - can you check my refund status?", [("ssn", digits)])

# Records with several kinds at once.
for _ in range(20):
    e, p, c, ip = email(), phone(), card(), ipv4()
    add(
        "log",
        f"WARN checkout user={e} phone={p} card={c} from {ip} amount=42.50",
        [("email", e), ("phone", p), ("card", c), ("ipv4", ip)],
    )
for _ in range(10):
    k, s = aws_access_key(), aws_secret_key()
    add(
        "prompt",
        f"aws configure asks for {k} and then {s}, which one is the secret?",
        [("aws_access_key", k), ("aws_secret_key", s)],
    )

# --- hard negatives ----------------------------------------------------------------------

MODELS = ["gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20240620", "llama-3.1-70b-instruct"]
MODELS += ["mistral-large-2407", "gemini-1.5-pro-002", "text-embedding-3-large", "bge-m3"]


def negative_texts() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for _ in range(12):
        out.append(
            (
                "log",
                f"INFO inference request_id={uuid.UUID(int=rng.getrandbits(128))} "
                f"model={rng.choice(MODELS)} latency_ms={rng.uniform(5, 900):.3f} "
                f"input_token_count={rng.randint(1, 8000)} "
                f"output_token_count={rng.randint(1, 4000)}",
            )
        )
    for _ in range(8):
        out.append(
            (
                "log",
                f"{2020 + rng.randint(0, 6)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
                f"{rng.randint(0, 999):03d}Z worker-{rng.randint(1, 64)} heartbeat ok",
            )
        )
    for _ in range(8):
        out.append(
            (
                "log",
                f"DEBUG deploy commit={rand('0123456789abcdef', 40)} "
                f"image sha256:{rand('0123456789abcdef', 64)}",
            )
        )
    for _ in range(10):
        number = card_digits(valid=False)
        out.append(("log", f"INFO order number {number} shipped, total ${rng.randint(5, 999)}.99"))
    for _ in range(6):
        out.append(
            ("log", f"INFO order ORD-{rng.randint(2020, 2026)}-{rng.randint(0, 999999):06d} paid")
        )
    for _ in range(8):
        out.append(("payload", f"IBAN-like but invalid: {iban(valid=False)}"))
    for _ in range(6):
        out.append(
            (
                "log",
                f"INFO serving v{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)} "
                f"on 0.0.0.0:{rng.randint(1024, 65535)} and localhost:{rng.randint(1024, 65535)}",
            )
        )
    for _ in range(6):
        out.append(
            (
                "payload",
                f'{{"temperature": {rng.random():.2f}, "top_p": {rng.random():.2f}, '
                f'"seed": {rng.randint(0, 2**31)}, "max_tokens": {rng.randint(16, 4096)}, '
                f'"usage": {{"prompt_tokens": {rng.randint(1, 9999)}, '
                f'"completion_tokens": {rng.randint(1, 9999)}}}}}',
            )
        )
    fixed = [
        ("prompt", "How do I reset my password if I forgot the security question?"),
        ("prompt", "Explain what a bearer token is and how OAuth sessions expire."),
        ("prompt", "Give me a basic introduction to Kubernetes secrets management."),
        ("prompt", "What is the difference between an API key and a session cookie?"),
        ("prompt", "In C++, std::vector<int>::iterator and Self::add in Rust differ how?"),
        ("prompt", "Slice a list in Python with a[::2] and a[1::3]."),
        ("prompt", "Write a haiku about the 3.14159 digits of pi and 2.71828."),
        ("prompt", "The meeting is at 10:30:00 on 15.01.2025, room 4."),
        ("prompt", "Price went from $1,299.99 to EUR 1.099,00 (-15.4%)."),
        ("prompt", "Use torch==2.3.1+cu121 with transformers 4.44.2 and Python 3.11.9."),
        ("prompt", "The tokenizer returned 512 tokens; max_tokens is 1024."),
        ("prompt", "Our SLA is 99.95% with p99 latency of 812.5 ms."),
        ("prompt", "Email me? No - just describe how email validation regexes work."),
        ("prompt", "Call the function f(x) = 3x^2 + 2x + 1 at x = 415."),
        ("prompt", "The image icon@2x.png is blurry, and @app.route('/') fails."),
        ("prompt", "Epoch milliseconds 1718000000000 correspond to June 2024."),
        ("prompt", "Phone-like but not: 1234, 12-34, ext. 5678, room 555."),
        ("prompt", "ISBN 978-3-16-148410-0 and DOI 10.1000/182 are identifiers."),
        ("log", "INFO cache hit key=embeddings:v2:doc-88231 ttl=3600"),
        ("log", "INFO token bucket refill rate=50/s burst=100"),
        ("log", "DEBUG session started for anonymous visitor, 3 pages"),
        ("log", "INFO gpu=0 util=87.5% mem=71.2GiB temp=66C"),
        ("log", "INFO batch 1832/5000 loss=0.04132 lr=3e-05"),
        ("log", "WARN retry 3/5 after 2.5s backoff (HTTP 429)"),
        ("log", "INFO listening on http://127.0.0.1:8000 and [::1]:8000"),
        ("log", "INFO request_id=req_01J2Z3Y4X5W6V7U8T9S0R1Q2P3 status=ok"),
        ("log", "INFO trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7"),
        ("payload", '{"role": "assistant", "content": "Sure! Here are 3 tips."}'),
        ("payload", '{"finish_reason": "stop", "index": 0, "logprobs": null}'),
        ("payload", '{"password_policy": "min 12 chars", "token_ttl_seconds": 3600}'),
    ]
    out.extend(fixed)
    for _ in range(10):
        out.append(
            ("prompt", f"Card {format_card(card_digits(valid=False))} was rejected as invalid.")
        )
    for _ in range(6):
        area = rng.randint(100, 899)
        out.append(("log", f"INFO ticket {area}-{rng.randint(10, 99)}-{rng.randint(100, 999)} ok"))
    for _ in range(8):
        out.append(
            (
                "log",
                f"127.0.0.1 - - [15/Jan/2025:{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00 "
                f'+0000] "POST /v1/completions HTTP/1.1" {rng.choice([200, 201, 429, 500])} '
                f"{rng.randint(100, 99999)} {rng.uniform(0.01, 9):.3f}",
            )
        )
    for _ in range(6):
        out.append(
            (
                "log",
                'Traceback (most recent call last):\n  File "/srv/app/handlers.py", line '
                f"{rng.randint(10, 900)}, in predict\n    out = model(batch)\n"
                "RuntimeError: CUDA out of memory. Tried to allocate "
                f"{rng.uniform(0.1, 9):.2f} GiB",
            )
        )
    for _ in range(6):
        out.append(
            (
                "prompt",
                f"SELECT id, total FROM orders WHERE created_at > '2024-0{rng.randint(1, 9)}-01' "
                f"AND total > {rng.randint(10, 999)}.50 LIMIT {rng.randint(1, 100)};",
            )
        )
    return out


for kind, text in negative_texts():
    add(kind, text, [])


# --- the formats of real logs, and their look-alikes (redaction_corpus_formats.py) -----


def ssn_digits() -> str:
    return ssn().replace("-", "").replace(" ", "")


def phone_compact() -> str:
    area = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    exchange = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    return f"{rng.choice(['', '1'])}{area}{exchange}{rng.randint(0, 9999):04d}"


def slack_token_any() -> str:
    kind = rng.randrange(4)
    if kind == 0:
        digits = rand(string.digits, 13)
        return f"xapp-1-A{mixed(10).upper()}-{digits}-{rand('0123456789abcdef', 64)}"
    if kind == 1:
        return f"xoxe.xoxp-1-{mixed(60)}"
    return slack_token()


def api_token() -> str:
    makers = [
        lambda: "glpat-" + mixed(20, "_-"),
        lambda: "hf_" + mixed(34),
        lambda: "npm_" + mixed(36),
        lambda: "pypi-AgEIcHlwaS5vcmc" + mixed(60, "_-"),
        lambda: "SG." + mixed(22, "_-") + "." + mixed(43, "_-"),
        lambda: "dop_v1_" + rand("0123456789abcdef", 64),
        lambda: "dapi" + rand("0123456789abcdef", 32),
        lambda: "gsk_" + mixed(52),
        lambda: "r8_" + mixed(37),
        lambda: "xai-" + mixed(80),
        lambda: f"{rng.randint(10**8, 10**9)}:AA" + mixed(33, "_-"),
    ]
    return rng.choice(makers)()


def password() -> str:
    word = rng.choice(["Sommer", "Zomer", "Soleil", "Sol", "Sole", "Hunter", "Winter", "Tiger"])
    return f"{word}{rng.randint(1, 2030)}{rng.choice(['!', '#', '', '$', '.x', '_'])}"


FORMAT_GENERATORS: dict[str, Callable[[], str]] = {
    **GENERATORS,
    "slack_token": slack_token_any,
    "api_token": api_token,
    "ssn_digits": ssn_digits,
    "phone_compact": phone_compact,
    "password": password,
}

for kind, text, labels in formats.build(rng, FORMAT_GENERATORS):
    add(kind, text, labels)


def main() -> None:
    with OUT.open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample, ensure_ascii=False) + "\n")
    print(f"wrote {len(samples)} samples to {OUT}")


if __name__ == "__main__":
    main()
