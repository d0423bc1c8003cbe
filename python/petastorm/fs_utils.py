"""Upstream's ``petastorm.fs_utils`` over ``pyarrow.fs``: a dataset URL resolved to a file system and
the path inside it. The reader does not use it (object stores are reached natively); it serves user
code and tools that open dataset files with pyarrow.
"""
from urllib.parse import urlparse

from petastorm import _storage
from petastorm._ignored import warn_ignored

_BUCKET_SCHEMES = ('s3', 's3a', 's3n', 'gs', 'gcs', 'az', 'abfs', 'abfss', 'adl', 'azure')


def get_dataset_path(parsed_url):
    """The path of a parsed URL as ``pyarrow.fs`` and fsspec expect it: ``bucket/key`` (``container/path``)
    for object stores, the URL's path otherwise."""
    if parsed_url.scheme.lower() in _BUCKET_SCHEMES:
        return parsed_url.netloc + parsed_url.path
    return parsed_url.path


def _pyarrow_filesystem(parsed_url, s3_config_kwargs):
    import pyarrow.fs
    scheme = parsed_url.scheme.lower()
    if scheme == 'file':
        return pyarrow.fs.LocalFileSystem()
    if scheme in ('s3', 's3a', 's3n'):
        if not parsed_url.netloc:
            raise ValueError('URLs must be of the form s3://bucket/path')
        return pyarrow.fs.S3FileSystem(**(s3_config_kwargs or {}))
    if scheme in ('gs', 'gcs'):
        if not parsed_url.netloc:
            raise ValueError('URLs must be of the form gs://bucket/path or gcs://bucket/path')
        return pyarrow.fs.GcsFileSystem()
    if scheme in ('hdfs', 'viewfs'):
        return pyarrow.fs.FileSystem.from_uri(parsed_url.geturl())[0]
    raise ValueError('Unsupported scheme in dataset url {}: use file, hdfs, s3 or gs(gcs)'.format(parsed_url.geturl()))


class FilesystemResolver(object):
    """Resolves a dataset URL to a ``pyarrow.fs.FileSystem`` (upstream's class, over ``pyarrow.fs``).

    :param dataset_url: an absolute URL (a string or a ``urlparse`` result); a URL without a scheme is a
        ``ValueError`` as upstream
    :param hadoop_configuration, connector, hdfs_driver, user: accepted for upstream compatibility (warn once
        when given); HDFS is reached through ``pyarrow.fs.HadoopFileSystem``
    :param s3_config_kwargs: keyword arguments of ``pyarrow.fs.S3FileSystem``
    """

    def __init__(self, dataset_url, hadoop_configuration=None, connector=None, hdfs_driver='libhdfs3', user=None,
                 s3_config_kwargs=None):
        warn_ignored('FilesystemResolver', 'file systems come from pyarrow.fs',
                     hadoop_configuration=(hadoop_configuration, None), connector=(connector, None),
                     hdfs_driver=(hdfs_driver, 'libhdfs3'), user=(user, None))
        self._dataset_url = dataset_url
        self._parsed_dataset_url = urlparse(dataset_url) if isinstance(dataset_url, str) else dataset_url
        if not self._parsed_dataset_url.scheme:
            raise ValueError('ERROR! A scheme-less dataset url ({}) is no longer supported. '
                             'Please prepend "file://" for local filesystem.'.format(self._parsed_dataset_url.geturl()))
        parsed, config = self._parsed_dataset_url, s3_config_kwargs
        self._filesystem = _pyarrow_filesystem(parsed, config)
        self._filesystem_factory = lambda: _pyarrow_filesystem(parsed, config)

    def parsed_dataset_url(self):
        """The ``urlparse`` result of the dataset URL."""
        return self._parsed_dataset_url

    def get_dataset_path(self):
        """The dataset's path inside :meth:`filesystem` (``bucket/key`` for object stores)."""
        return get_dataset_path(self._parsed_dataset_url)

    def filesystem(self):
        """The ``pyarrow.fs.FileSystem``."""
        return self._filesystem

    def filesystem_factory(self):
        """A function that creates the file system again (e.g. on Spark executors)."""
        return self._filesystem_factory

    def __getstate__(self):
        raise RuntimeError('Pickling FilesystemResolver is not supported as it may contain some '
                           'a file-system instance objects that do not support pickling but do not have '
                           'anti-pickling protection')


def get_filesystem_and_path_or_paths(url_or_urls, hdfs_driver='libhdfs3', s3_config_kwargs=None, filesystem=None):
    """``(filesystem, path or paths)`` for a URL or a list of URLs, which must share scheme and netloc.

    :param filesystem: a ``pyarrow.fs.FileSystem`` to use instead of resolving one
    """
    urls = url_or_urls if isinstance(url_or_urls, list) else [url_or_urls]
    parsed = [urlparse(url) for url in urls]
    if any((p.scheme, p.netloc) != (parsed[0].scheme, parsed[0].netloc) for p in parsed):
        raise ValueError('The dataset url list must contain url with the same scheme and netloc.')
    fs = filesystem or FilesystemResolver(urls[0], hdfs_driver=hdfs_driver, s3_config_kwargs=s3_config_kwargs) \
        .filesystem()
    paths = [get_dataset_path(p) for p in parsed]
    return fs, (paths if isinstance(url_or_urls, list) else paths[0])


def normalize_dir_url(dataset_url):
    """A directory URL without its trailing ``/``; ``file:/x`` and ``file://localhost/x`` become
    ``file:///x`` (the native rule the converters use too). Not a string: ``ValueError``."""
    if not isinstance(dataset_url, str) or not dataset_url:
        raise ValueError('directory url must be a string')
    return _storage.normalize_dir_url(dataset_url)


__all__ = ['FilesystemResolver', 'get_filesystem_and_path_or_paths', 'get_dataset_path', 'normalize_dir_url']
