"""Error types a user can act on: one sentence naming the thing and the fix."""


class MnistlabError(Exception):
    """Base class for errors caused by the user's input or environment (CLI exit status 2)."""


class DataError(MnistlabError):
    """A data file is missing, malformed or fails verification."""


class ConfigError(MnistlabError, ValueError):
    """A setting is outside its allowed range."""


class DeviceError(MnistlabError):
    """The requested device is not available."""


class RunStoreError(MnistlabError):
    """A run is missing, unreadable or its id is invalid."""


class FetchError(DataError):
    """No source could provide a dataset file."""


class SweepError(MnistlabError):
    """A sweep, its search space or its storage is missing, unreachable or malformed."""
