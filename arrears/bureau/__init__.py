"""Credit bureau reporting (docs/CONTRACT.md section 10, docs/bureau.md): the month's rows in
marts.bureau_accounts and the files a lender sends to the bureaus, PBOC and Metro 2."""
