"""Exercise checkers, one module per notebook (`nb01`, `nb02`, …).

Each `check_*` function prints ✓ on a right answer and raises `ExpectationError` with a hint that
says *what* is wrong (not just "wrong") otherwise.
"""
