from tests.trained_project import trained_data_root  # noqa: F401 - shared fixture
