"""``ApiKeyDataset``: an API key from Kedro credentials or the environment, never shown.

Kedro hands credentials to datasets only, so the annotation node receives the key of the
annotation server through this read-only dataset. The key comes from the ``api_key`` field of the
catalog entry's credentials (``conf/local/credentials.yml``) or else from an environment variable;
it is loaded as an :class:`~bioie_kedro.annotation.backends.ApiKey`, whose ``repr`` hides it, and
``_describe`` names only the variable, so neither the catalog's logging nor a traceback shows it.
"""

from __future__ import annotations

from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from bioie_kedro.annotation.backends import DEFAULT_API_KEY_ENV, ApiKey


class ApiKeyDataset(AbstractDataset[None, ApiKey]):
    """Read-only. Example catalog entry, with the optional credentials in ``conf/local``::

        synthetic_annotator_api_key:
          type: bioie_kedro.datasets.ApiKeyDataset
          env_var: BIOIE_ANNOTATOR_API_KEY
          credentials: annotation_server     # conf/local/credentials.yml: {api_key: ...}

    Without credentials and without the variable it loads an empty key (servers without
    authentication, such as a local ``vllm serve``, need none).
    """

    def __init__(
        self,
        *,
        env_var: str = DEFAULT_API_KEY_ENV,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if credentials is not None and "api_key" not in credentials:
            raise DatasetError("the credentials of an ApiKeyDataset need an 'api_key' field")
        self._env_var = env_var
        self._credentials = {"api_key": credentials["api_key"]} if credentials else None
        self.metadata = metadata

    def load(self) -> ApiKey:
        # the environment is read at load time, so a variable exported after start-up counts
        return ApiKey.from_sources(self._credentials, self._env_var)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"env_var": self._env_var, "credentials": "set" if self._credentials else None}
