"""Project settings. There is no need to edit this file unless you want to change values
from the Kedro defaults. For further information, including these default values, see
https://docs.kedro.org/en/stable/configure/configuration_basics/#configuration"""

# Instantiated project hooks.
# Experiment tracking (conf/*/mlflow.yml): kedro-mlflow's hook, driven by the project's, which
# opens the MLflow store only when a tracked pipeline starts and logs the catalog's reports.
from bioie_kedro.hooks import NodeTimings
from bioie_kedro.tracking import MlflowTracking

HOOKS = (MlflowTracking(), NodeTimings())

# Installed plugins for which to disable hook auto-registration.
# kedro-viz's run hooks write dataset statistics and run events to .viz/ in the project after
# every `kedro run`, whatever its data_root: parallel test runs would overwrite each other's there
# and `kedro viz build` would then show the statistics of a throw-away run. `kedro viz` itself
# needs no hook; remove the name to see the last run's statistics in the graph.
# kedro-mlflow's hook is run by bioie_kedro.tracking.MlflowTracking (HOOKS above) instead; its
# distribution names itself kedro_mlflow (both spellings, in case a release normalises it).
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-viz", "kedro_mlflow", "kedro-mlflow")

# Class that manages the KedroSession.
# from kedro.framework.session import KedroSession
# SESSION_CLASS = KedroSession

# Class that manages storing KedroSession data.
# from kedro.framework.session.store import BaseSessionStore
# SESSION_STORE_CLASS = BaseSessionStore
# Keyword arguments to pass to the `SESSION_STORE_CLASS` constructor.
# SESSION_STORE_ARGS = {
#     "path": "./sessions"
# }

# Directory that holds configuration.
# CONF_SOURCE = "conf"

# Class that manages how configuration is loaded.
# from kedro.config import OmegaConfigLoader

# CONFIG_LOADER_CLASS = OmegaConfigLoader

# Keyword arguments to pass to the `CONFIG_LOADER_CLASS` constructor.
# `oc.env` lets the benchmark catalog read the corpus directory from $BIOIE_CORPORA.
from omegaconf.resolvers import oc  # noqa: E402

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"oc.env": oc.env},
    # "config_patterns": {
    #     "spark" : ["spark*/"],
    #     "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
    # }
}

# Class that manages Kedro's library components.
# from kedro.framework.context import KedroContext
# CONTEXT_CLASS = KedroContext

# Class that manages the Data Catalog.
# from kedro.io import DataCatalog
# DATA_CATALOG_CLASS = DataCatalog
