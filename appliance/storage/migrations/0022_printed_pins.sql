-- Sign-in cards printed again without new PINs (docs/security.md, "PINs kept for the cards"): a student's PIN or
-- picture code as given, beside its argon2 hash. Sign-in checks the hash only; this column is read only by the
-- cards page, for the class's teachers and administrators. NULL: given before this column (or typed in a roster
-- and not kept), so the card says "print a new one".
ALTER TABLE accounts ADD COLUMN printed_pin TEXT;
