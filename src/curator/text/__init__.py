"""Persian text core: match keys, script statistics and numbers (pure functions; display is curator.display)."""

from curator.text.normalize import key_hash, match_key
from curator.text.numbers import find_numbers, parse_number
from curator.text.script import ScriptStats, script_stats

__all__ = ["match_key", "key_hash", "script_stats", "ScriptStats", "parse_number", "find_numbers"]
