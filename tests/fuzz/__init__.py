"""The fuzzing tier's shared pieces: hostile JSON strategies, near-valid values of every
area, the type-aware JSON oracle and the hypothesis budgets (CI and long)."""
