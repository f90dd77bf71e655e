"""The privacy gate and everything that keeps personal data in the secure zone (PIPL)."""
