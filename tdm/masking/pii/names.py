"""What PII detection knows, as data: the categories (the mask each suggests, a noun for
reasons, the logical types it can live in) and the column-name rules, which `name_evidence`
applies. The value checks are in tdm.masking.detect."""

from __future__ import annotations

import re

# category: suggested mask (strategy key=value...), noun for reasons, logical kinds it lives in
_TABLE = [
    ("email", "email", "an email", "string"),
    ("phone", "phone", "a phone number", "string int"),
    ("credit_card", "credit_card", "a card number", "string int decimal"),
    ("iban", "iban", "a bank account", "string int"),
    ("national_id", "national_id", "a national id", "string int"),
    ("ip_address", "ip_address", "an IP address", "string"),
    ("date_of_birth", "date_shift days=30", "a date of birth", "date timestamp string"),
    ("first_name", "substitute pool=first_name", "a first name", "string"),
    ("last_name", "substitute pool=last_name", "a last name", "string"),
    ("full_name", "substitute pool=name", "a person name", "string"),
    ("street_address", "substitute pool=street_address", "a street address", "string"),
    ("postcode", "partial keep_first=2", "a postcode", "string int"),
    ("city", "substitute pool=city", "a city", "string"),
    ("username", "pseudonymize", "a username", "string"),
    ("password", "redact", "a password", "string uuid json"),
    ("secret", "redact", "a secret", "string uuid json"),
    ("free_text", "scrub", "a free-text", "string json"),
    ("geo", "generalize step=0.01", "a geolocation", "float decimal"),
]


def _mask(text: str) -> dict:
    strategy, *params = text.split()
    pairs = (p.split("=") for p in params)
    return {"strategy": strategy} | {k: int(v) if v.isdigit() else v for k, v in pairs}


CATEGORIES: dict[str, dict] = {c: _mask(m) for c, m, _, _ in _TABLE}
INFO = {c: (noun, frozenset(kinds.split())) for c, _, noun, kinds in _TABLE}


# category, confidence, pattern over the '_'-joined tokens ({N}: optional number suffix,
# {P}: person qualifiers); the first matching rule of a category wins
_PERSON = (
    "full|display|contact|legal|real|person|customer|cust|client|holder|account_?holder|"
    "card_?holder|member|employee|emp|staff|patient|recipient|sender|author|owner|billing|"
    "shipping|guest|passenger|beneficiary|payee|payer|spouse|parent|applicant|student|buyer"
)
_RULES = r"""
email 0.85 e_?mail(_?addr(ess)?)?|mail_?addr(ess)?
email 0.6 mail
phone 0.8 (tele)?phone{N}|msisdn|cell_?phone|mobile_?(phone|num(ber)?|no|nr)
phone 0.6 mobile|cell|tel|fax
national_id 0.8 ssn|social_?security{N}|national_?(id|insurance){N}|passport{N}|nino
national_id 0.8 driv(er|ers|ing)_?licen[cs]e{N}|tax(payer)?_?id|personal_?id{N}|id_?card{N}
national_id 0.6 nin|tin|sin|nid
first_name 0.8 (first|given|fore|christian)_?names?|forenames?
first_name 0.7 middle_?names?
last_name 0.8 (last|family|sur|maiden)_?names?|surnames?
full_name 0.7 ({P})_?names?|full_?name|card_?holder|account_?holder
full_name 0.55 ^names?$
street_address 0.75 street(_?addr(ess)?)?|address_?line|(house|street){N}
street_address 0.7 addr(ess)?|addr_?line
postcode 0.75 post_?code|postal_?code|zip_?code|plz|postleitzahl
postcode 0.6 zip
city 0.6 city|town|municipality
date_of_birth 0.75 dob|birth_?(date|day|dt)|date_?of_?birth|dt_?of_?birth|bday|born(_?(on|date))?
iban 0.85 iban
iban 0.65 (bank_?)?acc(oun)?t_?(num(ber)?|no|nr)|bank_?acc(oun)?t{N}
credit_card 0.8 credit_?card{N}|cc_?(num(ber)?|no)|card_?(num(ber)?|no|nr)|pan|ccn
credit_card 0.55 card
ip_address 0.7 ip(_?addr(ess)?)?|ipv|remote_?addr|client_?ip
username 0.65 user_?name|login(_?name)?|user_?login|screen_?name|nick(_?name)?|handle
password 0.8 pass_?word|passwd|pwd|pass_?phrase
password 0.6 pin(_?code)?
secret 0.7 secret|token|(api|access|secret|private|auth|session)_?key|client_?secret|credentials?
free_text 0.35 notes?|comments?|description|desc|message|msg|bio(graphy)?|remarks?|memo|text
free_text 0.35 feedback|review|about|body|free_?text
geo 0.55 lat|lon|lng|latitude|longitude|geo(_?(location|point))?|coords?|coordinates|gps
"""
_COMPILED = [
    (cat, re.compile(rf"(?:^|_)(?:{rx})(?:_|$)"), float(conf))
    for cat, conf, rx in (line.split() for line in _RULES.strip().splitlines())
    for rx in [rx.replace("{N}", r"(_?(num(ber)?|no|nr))?").replace("{P}", _PERSON)]
]
# tokens saying the column is *about* the thing, not the thing (email_verified, card_type)
_NEG = frozenset(
    """verified confirmed validated valid count cnt template type status flag enabled disabled
    optin opt sent format length len domain provider pattern regex policy required expires
    expiry expired exp method mode source brand scheme network issuer country region prefix
    id ids uuid fk ref key""".split()  # noqa: SIM905
)
_EXEMPT = {"national_id": {"id"}, "secret": {"key", "id", "type"}}
_EXCLUDE = {
    "email": "server host list box subject body template campaign consent bounce bounced",
    "street_address": "email mail e ip mac web url server host wallet contract memory mem remote",
    "postcode": "file files archive path compressed compression level",
    "date_of_birth": "place city country town name",
    "credit_card": "gift score sim report wild game holder",
}
_EXCLUDE_SETS = {c: frozenset(words.split()) for c, words in _EXCLUDE.items()}


def normalize(name: str) -> list[str]:
    """'custEmailAddress2' -> ['cust', 'email', 'address']: camelCase and separators split,
    lowercased, trailing digits dropped."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    tokens = [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]
    return [re.sub(r"(?<=[a-z])\d+$", "", t) for t in tokens]


def name_evidence(name: str, kind: str) -> dict[str, float]:
    tokens = normalize(name)
    joined, have = "_".join(tokens), set(tokens)
    out: dict[str, float] = {}
    for cat, rx, conf in _COMPILED:
        if cat in out or kind not in INFO[cat][1] or not rx.search(joined):
            continue
        if have & (_NEG - _EXEMPT.get(cat, set())) or have & _EXCLUDE_SETS.get(cat, frozenset()):
            continue
        out[cat] = conf
    if "username" in out or "first_name" in out or "last_name" in out:
        out.pop("full_name", None)
    return out
