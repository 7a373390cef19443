"""One module per ``srbench`` command: ``register(subparsers)`` declares its arguments and sets ``handler``."""
