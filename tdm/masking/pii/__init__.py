"""Finding personal data: column names and values classified into PII categories (the word
lists apart from the rules)."""
