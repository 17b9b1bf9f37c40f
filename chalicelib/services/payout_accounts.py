"""Payout accounts: the bank account an instructor is paid to.

The account number is encrypted with the stage's KMS key (`PAYOUT_ACCOUNT_KEY_ID`) before it
is stored, under an encryption context naming the instructor (a ciphertext copied to another
instructor's record does not decrypt). Only the payout worker decrypts it, to send a
transfer; every read shows it masked (`****6789`), and it is never logged.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, config, errors
from chalicelib.aws import client
from chalicelib.store import payout_accounts as store
from chalicelib.store.payout_accounts import mask

# Korean banks by their 3-digit code (금융결제원 표준 은행코드), as transfers name them.
BANKS = {
    "002": "KDB산업은행", "003": "IBK기업은행", "004": "KB국민은행", "007": "수협은행", "011": "NH농협은행",
    "020": "우리은행", "023": "SC제일은행", "027": "한국씨티은행", "031": "대구은행", "032": "부산은행",
    "034": "광주은행", "035": "제주은행", "037": "전북은행", "039": "경남은행", "045": "새마을금고",
    "048": "신협", "050": "저축은행", "071": "우체국", "081": "하나은행", "088": "신한은행",
    "089": "케이뱅크", "090": "카카오뱅크", "092": "토스뱅크",
}
ACCOUNT_DIGITS = re.compile(r"^\d{10,16}$")


@dataclass(frozen=True)
class PayoutAccountView:
    bank_code: str
    bank_name: str
    account_number_masked: str
    holder_name: str
    updated_at: datetime


def _context(instructor_id: str, purpose: str) -> dict[str, str]:
    return {"purpose": purpose, "instructor_id": instructor_id}


def encrypt(instructor_id: str, plaintext: str, purpose: str = "payout-account") -> tuple[bytes, str]:
    """A personal number encrypted with the stage's key for one instructor and purpose (payout accounts, tax
    profiles: the one way numbers are kept); (ciphertext, the key id)."""
    key_id = config.payout_account_key_id()
    ciphertext = client("kms").encrypt(KeyId=key_id, Plaintext=plaintext.encode(),
                                       EncryptionContext=_context(instructor_id, purpose))["CiphertextBlob"]
    return ciphertext, key_id


def decrypt(instructor_id: str, ciphertext: bytes, purpose: str = "payout-account") -> str:
    """The plain number back (for the transfer or the tax office only: never returned by the API, never logged)."""
    answer = client("kms").decrypt(KeyId=config.payout_account_key_id(), CiphertextBlob=ciphertext,
                                   EncryptionContext=_context(instructor_id, purpose))
    return answer["Plaintext"].decode()


def _view(account: store.PayoutAccount) -> PayoutAccountView:
    return PayoutAccountView(account.bank_code, BANKS.get(account.bank_code, account.bank_code),
                             mask(account.account_last4), account.holder_name, account.updated_at)


def save(instructor_id: str, bank_code: str, account_number: str, holder_name: str) -> PayoutAccountView:
    """Store (or replace) the instructor's payout account; the number encrypted, the answer masked.

    A payout already sent keeps the account it was sent to; the next one goes to this one."""
    if bank_code not in BANKS:
        raise errors.ValidationFailed.on("bank_code", "not a Korean bank code we pay to (e.g. 004, 088, 090)")
    digits = account_number.replace("-", "").replace(" ", "")
    if not ACCOUNT_DIGITS.match(digits):
        raise errors.ValidationFailed.on("account_number", "10 to 16 digits (hyphens allowed)")
    holder = holder_name.strip()
    if not holder:
        raise errors.ValidationFailed.on("holder_name", "the account holder's name as the bank knows it")
    ciphertext, key_id = encrypt(instructor_id, digits)
    return _view(store.put(instructor_id, bank_code, holder, ciphertext, digits[-4:], key_id, clock.now()))


def view(instructor_id: str) -> PayoutAccountView:
    account = store.get(instructor_id)
    if account is None:
        raise errors.NotFound("No payout account yet: PUT /instructor/payout-account")
    return _view(account)


def account_number(instructor_id: str, ciphertext: bytes) -> str:
    """The plain account number, for the transfer only (never returned by the API, never logged)."""
    return decrypt(instructor_id, ciphertext)
