"""The opt-in persistent converter cache (``petastorm.spark.converter.persistentCache=true``).

A converted DataFrame is reused by a later session when a cache directory under the parent holds
a marker file (:func:`marker_name`, written only after Spark committed the write) whose key equals the
DataFrame's key, and whose listed Parquet files are all there with their sizes.

The key is computed by the native library (``dataset::converter_cache``: the key text, its
SHA-256, the marker's format) from inputs gathered with JVM calls only, the same calls as the Scala
converter (``petastorm.spark.SparkDatasetConverter``) makes, so both compute the same key for the
same plan and reuse each other's caches.

Only plans whose result is a function of those inputs are eligible: deterministic, no user code
(UDFs, typed lambdas, pandas functions), no subqueries, and every leaf a file-based relation
(``spark.read`` of files or tables over files), ``Range`` or ``OneRowRelation``. Others
(``createDataFrame`` from local data or RDDs, JDBC, streams...) are converted as usual, but not
persisted for reuse.
"""
import functools
import logging

from petastorm import _native

logger = logging.getLogger(__name__)


_LEAVES = {
    'org.apache.spark.sql.catalyst.plans.logical.Range',
    'org.apache.spark.sql.catalyst.plans.logical.OneRowRelation',
}
_FILE_RELATION = 'org.apache.spark.sql.execution.datasources.LogicalRelation'
_HADOOP_FS_RELATION = 'org.apache.spark.sql.execution.datasources.HadoopFsRelation'
_V2_RELATION = 'org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation'
_FILE_TABLE = 'org.apache.spark.sql.execution.datasources.v2.FileTable'


def _seq(jseq):
    return [jseq.apply(i) for i in range(jseq.size())]


@functools.lru_cache(maxsize=None)
def marker_name():
    """The marker file's name (the native rule)."""
    return _native.converter_marker_name()


def ineligible_reason(jvm, plan):
    """Why ``plan`` (an analyzed ``LogicalPlan`` py4j object) can't be persisted; ``None`` when it can."""
    try:
        if not plan.deterministic():
            return 'the plan is not deterministic'
        for leaf in _seq(plan.collectLeaves()):
            name = leaf.getClass().getName()
            if name == _FILE_RELATION and leaf.relation().getClass().getName() == _HADOOP_FS_RELATION:
                continue
            if name == _V2_RELATION and jvm.java.lang.Class.forName(_FILE_TABLE).isInstance(leaf.table()):
                continue
            if name not in _LEAVES:
                return 'it reads from {}'.format(name.rsplit('.', 1)[-1])
        denied = _native.cache_denied_class(plan.toJSON())
        if denied:
            return 'the plan holds {}'.format(denied)
    except Exception as e:  # a plan we can't inspect is not persisted
        return 'the plan could not be inspected ({})'.format(e)
    return None


def persistent_key(spark, df, fs, row_group_size_bytes, compression_codec, dtype):
    """The persistent-cache key of ``df`` with these options, or ``None`` (logged) when ineligible."""
    jvm = spark.sparkContext._jvm
    plan = df._jdf.queryExecution().analyzed()
    reason = ineligible_reason(jvm, plan)
    if reason is not None:
        logger.info('Not using the persistent converter cache for this DataFrame: %s.', reason)
        return None
    conf = spark._jsparkSession.conf()
    inputs = {'spark': spark._jsparkSession.version(),
              'timeZone': conf.get('spark.sql.session.timeZone'),
              'ansi': conf.get('spark.sql.ansi.enabled'),
              'rowGroupSizeBytes': int(row_group_size_bytes),
              'compression': compression_codec,
              'dtype': dtype,
              'schema': plan.schema().json(),
              'plan': plan.canonicalized().treeString(True, False, 2147483647, False),
              'files': [[u] + list(fs.status(u)) for u in (str(u) for u in df._jdf.inputFiles())]}
    return _native.cache_key(inputs)


def marker_bytes(key, rows, files):
    """The marker's bytes: the key, the row count and ``[relative path, length]`` of every file."""
    return _native.cache_marker(key, rows, files)


def check_marker(fs, dir_url, key):
    """``(rows, [(relative path, length)])`` when ``dir_url`` holds a complete write for ``key``
    (marker present and matching, every listed file there with its length), else ``None``."""
    try:
        data = fs.read_bytes(dir_url + '/' + marker_name())
        if data is None:
            return None
        files = fs.list_parquet_files(dir_url)
        rows = _native.cache_check_marker(data, key, files)
        return None if rows < 0 else (rows, files)
    except Exception as e:  # an unreadable or foreign marker is never reused
        logger.warning('Ignoring converter cache %s: %r', dir_url, e)
        return None
