import pyarrow as pa
import pytest

from conftest import REPO
from listening import schema


def test_data_dictionary_is_up_to_date():
    doc = (REPO / "docs" / "data-dictionary.md").read_text()
    assert doc.strip() == schema.data_dictionary().strip(), "run `make docs` to regenerate docs/data-dictionary.md"


def test_every_column_is_documented():
    for ds in schema.DATASETS.values():
        for f in ds.schema:
            assert (f.metadata or {}).get(b"doc"), f"{ds.name}.{f.name} has no description"


def test_unique_and_sort_columns_exist():
    for ds in schema.DATASETS.values():
        names = set(ds.schema.names)
        assert set(ds.unique) <= names, ds.name
        assert set(ds.sort) <= names, ds.name


def test_conform_names_the_missing_column():
    t = pa.table({"post_id": ["x:1"]})
    with pytest.raises(ValueError, match="mentions: missing columns.*platform"):
        schema.conform(schema.MENTIONS, t)
