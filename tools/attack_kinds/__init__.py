"""The kinds of hostile or malformed input ``tools/attack.py`` replays (issue 33), one module a group.

Each module holds ``KINDS``: a list of :class:`tools.attack_kinds.common.Kind`. A kind is a class of
fault, not one input: its ``run`` tries at least the issue's example and, where cheap, another member
of the kind, and says what it measured against a normal input of the same size.
"""
