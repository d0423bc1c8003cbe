"""Writing Petastorm datasets with Spark (``materialize_dataset``) and reading their metadata."""
