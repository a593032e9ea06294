"""Custom NLU graph components."""
