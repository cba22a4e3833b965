"""Learned surrogates of the dynamics (torch). Built in later issues."""
