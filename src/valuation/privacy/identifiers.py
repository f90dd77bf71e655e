"""PRC resident ID numbers, mainland mobile numbers and e-mail addresses.

Only the check-digit arithmetic lives here for now; normalisation and validation are added
by the privacy gate.
"""

from __future__ import annotations

ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits.

    Parameters
    ----------
    first17 : str
        The first 17 digits of an 18-digit resident ID number.

    Returns
    -------
    str
        One of ``0123456789X``.

    Examples
    --------
    >>> id_check_digit("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("expected exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]
