"""The model store: the catalog of models, fetching and verifying them, and finding them at start-up.

    store = ModelStore.from_settings(settings)
    llm = store.require("smollm2-135m-instruct-q4_1")   # ModelError says how to fix a missing model
    Llama(model_path=str(llm.main))

Modules: `catalog` (config/models.yaml), `store` (require/status/fetch/verify), `sources`
and `archive` (where files come from), `download` (resumable, size-capped HTTP; reused by OTA),
`install` (crash-safe install of verified files into a directory), `manifest` (what is installed,
verification stamps), `integrity` (sha256, temp files), `progress` (tqdm bar or plain lines).
"""

from speaker.models.catalog import Catalog, FileSpec, ModelSpec, catalog_from_data, load_catalog
from speaker.models.download import DownloadError, DownloadResult, download
from speaker.models.install import install_files
from speaker.models.integrity import IntegrityError, ProgressFn
from speaker.models.progress import ProgressPrinter
from speaker.models.store import InstalledModel, ModelStatus, ModelStore

__all__ = [
    "Catalog",
    "DownloadError",
    "DownloadResult",
    "FileSpec",
    "InstalledModel",
    "IntegrityError",
    "ModelSpec",
    "ModelStatus",
    "ModelStore",
    "ProgressFn",
    "ProgressPrinter",
    "catalog_from_data",
    "download",
    "install_files",
    "load_catalog",
]
