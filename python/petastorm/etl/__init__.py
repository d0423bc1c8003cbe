"""Writing Petastorm datasets with Spark (``materialize_dataset``) and reading their metadata."""
import abc


class RowGroupIndexerBase(abc.ABC):
    """Upstream's base of row-group indexers (:mod:`petastorm.etl.rowgroup_indexers`): an indexer maps
    values of its columns to the row groups (piece indices) holding them."""

    @abc.abstractmethod
    def __add__(self, other):
        """Merges ``other``'s index data into this indexer and returns it."""

    @property
    @abc.abstractmethod
    def index_name(self):
        """The unique name of the index."""

    @property
    @abc.abstractmethod
    def column_names(self):
        """The columns the index is built from."""

    @property
    @abc.abstractmethod
    def indexed_values(self):
        """The values in the index."""

    @abc.abstractmethod
    def get_row_group_indexes(self, value_key):
        """The set of row groups holding ``value_key``."""

    @abc.abstractmethod
    def build_index(self, decoded_rows, piece_index):
        """Indexes ``decoded_rows`` (dicts of decoded values) of row group ``piece_index``."""
