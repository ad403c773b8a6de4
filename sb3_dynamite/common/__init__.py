"""Pieces shared by the algorithms and the tools around them."""
