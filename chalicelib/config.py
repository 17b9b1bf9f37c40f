"""Stage configuration, read from the environment when first needed.

Nothing here is read at import time: the Chalice test client applies a stage's
environment variables only while a request runs, and on Lambda the values are
fixed for the life of the container. Resource names come from
`.chalice/config.json` (per stage) or from the deployment template; AWS
endpoints come from the standard `AWS_ENDPOINT_URL*` variables, never from here.
"""

import os


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def stage() -> str:
    return _required("STAGE")


def table_name(short_name: str) -> str:
    """The DynamoDB table for a model, e.g. `classpay-local-users`."""
    return _required("TABLE_PREFIX") + short_name


def user_pool_id() -> str:
    return _required("USER_POOL_ID")


def user_pool_client_id() -> str:
    return _required("USER_POOL_CLIENT_ID")


def cors_allowed_origins() -> frozenset[str]:
    """Origins allowed to call the API from a browser; `*` allows any."""
    raw = os.environ.get("CORS_ALLOWED_ORIGINS", "")
    return frozenset(origin.strip() for origin in raw.split(",") if origin.strip())


# --- money -----------------------------------------------------------------------------------------

def _int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def payment_gateway() -> str:
    """Which payment gateway adapter the stage uses: `fake` (local, test) or `toss`."""
    return os.environ.get("PAYMENT_GATEWAY", "fake")


def toss_api_base() -> str:
    return os.environ.get("TOSS_API_BASE", "https://api.tosspayments.com")


def toss_secret_key_parameter() -> str:
    """The SSM Parameter Store name (a SecureString) holding the Toss Payments secret key."""
    return _required("TOSS_SECRET_KEY_PARAMETER")


def wallet_currency() -> str:
    """Wallets hold one currency for now (KRW); the ledger itself is multi-currency."""
    return os.environ.get("WALLET_CURRENCY", "KRW")


def topup_minimum() -> int:
    """Smallest top-up, in the wallet currency's minor unit."""
    return _int_setting("TOPUP_MINIMUM", 1_000)


def topup_maximum() -> int:
    """Largest single top-up, in the wallet currency's minor unit."""
    return _int_setting("TOPUP_MAXIMUM", 2_000_000)


def topup_expiry_minutes() -> int:
    """A pending top-up older than this is expired by the top-up expiry job."""
    return _int_setting("TOPUP_EXPIRY_MINUTES", 30)


def checkout_expiry_minutes() -> int:
    """How long a pending checkout holds its seats and wallet part: the PG's 30 minutes for the payer's
    authentication plus 10 to confirm (`domain/checkout.py`)."""
    return _int_setting("CHECKOUT_EXPIRY_MINUTES", 40)


def virtual_account_due_hours() -> int:
    """How long the fake gateway's virtual accounts wait for the deposit (Toss's is set by the client's
    payment window, `validHours`); the checkout holds its seats and wallet part until then."""
    return _int_setting("VIRTUAL_ACCOUNT_DUE_HOURS", 24)


def idempotency_retention_hours() -> int:
    """How long an Idempotency-Key is remembered (DynamoDB TTL removes it afterwards)."""
    return max(24, _int_setting("IDEMPOTENCY_RETENTION_HOURS", 24))


def idempotency_lease_seconds() -> int:
    """How long a claimed key counts as in flight; a crashed request's key is free again after it."""
    return _int_setting("IDEMPOTENCY_LEASE_SECONDS", 60)


def lesson_bucket() -> str:
    return _required("LESSON_BUCKET")


def upload_url_seconds() -> int:
    """How long a presigned lesson upload stays valid."""
    return int(os.environ.get("UPLOAD_URL_SECONDS", "900"))


def max_upload_bytes() -> int:
    return int(os.environ.get("MAX_UPLOAD_BYTES", str(5 * 1024**3)))


def clock_override_allowed() -> bool:
    """Whether `POST /admin/jobs/{name}/run` may take `{"now": ...}` (never in prod)."""
    return os.environ.get("ALLOW_CLOCK_OVERRIDE", "false") == "true"


def platform_fee_bps() -> int:
    """The platform's share of each sale, in basis points (2000 = 20%)."""
    return _int_setting("PLATFORM_FEE_BPS", 2000)


def vat_rate_bps() -> int:
    """VAT on the platform's fee, in basis points (1000 = 10%, 부가가치세법 article 30); the fee includes it."""
    return _int_setting("VAT_RATE_BPS", 1000)


def refund_window_days() -> int:
    """Days after purchase a learner may withdraw and have everything back (the e-commerce act's 7 days)."""
    return _int_setting("REFUND_WINDOW_DAYS", 7)


def refund_progress_limit_percent() -> int:
    """Withdrawal needs the content unused: below this share of lessons completed (default 10%)."""
    return _int_setting("REFUND_PROGRESS_LIMIT_PERCENT", 10)


def refund_pro_rata() -> bool:
    """Whether a learner past the withdrawal (after the window, or above the progress limit) is refunded pro
    rata: what was paid minus the lessons studied (`REFUND_PRO_RATA`, default true: the lifelong-education and
    academies acts' rule for remote lessons); false refunds nothing past the withdrawal."""
    return os.environ.get("REFUND_PRO_RATA", "true") == "true"


def settlement_hold_days() -> int:
    """Days a sale stays pending for the instructor before it becomes available (>= the refund window)."""
    return max(_int_setting("SETTLEMENT_HOLD_DAYS", 7), refund_window_days())


def lesson_url_seconds() -> int:
    """How long a presigned lesson download (`/courses/{id}/lessons/{id}/content`) stays valid."""
    return int(os.environ.get("LESSON_URL_SECONDS", "300"))


def join_opens_minutes() -> int:
    """How long before a live session starts its join details are shown to those who booked it."""
    return int(os.environ.get("SESSION_JOIN_OPENS_MINUTES", "15"))


# --- jobs and payouts ------------------------------------------------------------------------------

def job_budget_seconds() -> int:
    """How long a scheduled job works before it stops and leaves the rest to its next run (its
    function's timeout is 300 s: see infra/template/functions.py)."""
    return _int_setting("JOB_BUDGET_SECONDS", 240)


def payout_minimum() -> int:
    """Smallest payout, in the wallet currency's minor unit: less stays available until next time."""
    return _int_setting("PAYOUT_MINIMUM", 10_000)


def payout_queue() -> str:
    """The SQS queue the weekly payout job fans out to, one message per instructor."""
    return _required("PAYOUT_QUEUE")


def webhook_queue() -> str:
    """The SQS queue `POST /webhooks/toss` hands each stored event to; its worker acts on the event."""
    return _required("WEBHOOK_QUEUE")


def withholding_rules() -> dict[str, int]:
    """Withholding on payouts to individuals (see domain/withholding.py), each overridable per stage:
    business income tax 3% (소득세법 제129조①3), other income: 60% deemed expenses (소득세법 시행령 제87조)
    then 20% (제129조①6), local income tax 10% of the income tax (지방세법 제103조의13), no income tax under
    1,000 won (소액부징수, 소득세법 제86조), other income of 50,000 won or less per payment untaxed
    (과세최저한, 소득세법 제84조), taxes cut below 10 won (국고금 관리법 제47조)."""
    return {
        "business_income_tax_bps": _int_setting("WITHHOLDING_BUSINESS_INCOME_TAX_BPS", 300),
        "other_income_expense_bps": _int_setting("WITHHOLDING_OTHER_INCOME_EXPENSE_BPS", 6000),
        "other_income_tax_bps": _int_setting("WITHHOLDING_OTHER_INCOME_TAX_BPS", 2000),
        "local_income_tax_bps": _int_setting("WITHHOLDING_LOCAL_INCOME_TAX_BPS", 1000),
        "minimum_income_tax": _int_setting("WITHHOLDING_MINIMUM_INCOME_TAX", 1000),
        "other_income_taxable_minimum": _int_setting("WITHHOLDING_OTHER_INCOME_TAXABLE_MINIMUM", 50_000),
        "truncation_unit": _int_setting("WITHHOLDING_TRUNCATION_UNIT", 10),
    }


def payout_gateway() -> str:
    """Which payout (bank transfer) adapter the stage uses: `fake` (local, test) or `toss`."""
    return os.environ.get("PAYOUT_GATEWAY", "fake")


def toss_security_key_parameter() -> str:
    """The SSM Parameter Store name (a SecureString) of the Toss security key that encrypts payout calls (JWE)."""
    return _required("TOSS_SECURITY_KEY_PARAMETER")


def payout_account_key_id() -> str:
    """The KMS key (its id, not an alias) that encrypts payout account numbers."""
    return _required("PAYOUT_ACCOUNT_KEY_ID")


def mail_sender() -> str:
    return _required("MAIL_SENDER")


def public_base_url() -> str:
    """The API's public address, with its stage prefix if it has one: absolute links it hands out start with it
    (a certificate's verification URL). Locally `make run`'s API; deployed the template's PublicBaseUrl."""
    return _required("PUBLIC_BASE_URL").rstrip("/")


def reminder_lead_minutes() -> int:
    """A live session's learners are reminded once, this long before it starts (or when it is first
    seen inside that window)."""
    return _int_setting("REMINDER_LEAD_MINUTES", 60)


def default_timezone() -> str:
    """The IANA time zone whose calendar days the dashboard counts in, unless the instructor set one."""
    return os.environ.get("DASHBOARD_TIMEZONE", "Asia/Seoul")


# --- secrets ---------------------------------------------------------------------------------------

CURSOR_KEY_NAME = "cursor-key"


def cursor_key_parameter() -> str:
    """The SSM SecureString holding the key that authenticates pagination cursors (`chalicelib/api/pagination.py`)."""
    return _required("SECRETS_PATH") + CURSOR_KEY_NAME


TOSS_SECURITY_KEY_NAME = "toss-security-key"


def toss_webhook_key_parameter() -> str:
    """The SSM SecureString holding Toss's security key (보안 키), which signs its payout and seller webhooks
    (HMAC-SHA256). Toss issues one security key per merchant: in prod this is the parameter
    `TOSS_SECURITY_KEY_PARAMETER` names (payouts' encryption); local and test stages get a random one."""
    return _required("SECRETS_PATH") + TOSS_SECURITY_KEY_NAME


def login_failures_per_window() -> int:
    """Failed log-ins allowed per source IP and email in one window (chalicelib/services/attempt_limits.py)."""
    return _int_setting("LOGIN_FAILURES_PER_WINDOW", 5)


def login_window_seconds() -> int:
    return _int_setting("LOGIN_WINDOW_SECONDS", 900)
