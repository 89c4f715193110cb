"""When two externalIds are one person: the key the duplicate check and manager references compare.

Entra matches a record to a user by its externalId (against employeeId, by default), so two ids that it
would take for the same person must not go out as two people who overwrite each other. The key folds:

- surrounding white space (including no-break spaces);
- invisible format characters (zero-width space and joiner, BOM, soft hyphen): Unicode category Cf;
- compatibility forms (full-width digits and letters, the Kelvin sign): Unicode NFKC;
- letter case;
- look-alike letters from other scripts (Cyrillic А, Greek Ο for Latin A, O): folded to ASCII with
  anyascii, a maintained transliteration table.

None of this is documented as Entra's matching rule (SCIM, RFC 7643 section 3.1, even declares externalId
case-exact); it is caution: such ids almost always come from a typo or an export that changed
encodings, and sending both would have one person's account overwritten by the other's record. The ids
are sent exactly as they are; only the comparison folds them.
"""

from __future__ import annotations

import unicodedata

from anyascii import anyascii


def id_key(external_id: str) -> str:
    """The comparison key of an externalId (the id itself, folded as above)."""
    if external_id.isascii():
        folded = external_id.strip().lower()
        # The id itself when folding changes nothing (most ids): the index then keeps one string, not two.
        return external_id if folded == external_id else folded
    text = unicodedata.normalize("NFKC", external_id)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    folded = anyascii(text).strip().casefold()
    return folded or text.strip().casefold()
