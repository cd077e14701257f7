"""The one exception the reader raises for files that are not (complete) zgseg outputs."""


class FormatError(ValueError):
    """A file or folder is not a complete zgseg output.

    The message is one line naming the file and what to do about it.
    """
