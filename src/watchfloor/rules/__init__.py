"""Standing rules: compile rule versions and match them against arriving posts (pure, no I/O)."""

from watchfloor.rules.compiled import CompiledRule, compile_query, compile_rule
from watchfloor.rules.matcher import Matcher

__all__ = ["CompiledRule", "Matcher", "compile_query", "compile_rule"]
