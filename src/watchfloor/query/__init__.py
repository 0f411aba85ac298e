"""The house query language shared by search and standing rules: grammar, parser, AST, evaluator."""
