"""The opt-in persistent converter cache (``petastorm.spark.converter.persistentCache=true``).

A converted DataFrame is reused by a later session when a cache directory under the parent holds
a marker file (:data:`MARKER`, written only after Spark committed the write) whose key equals the
DataFrame's key, and whose listed Parquet files are all there with their sizes.

The key is the SHA-256 of a text built from JVM calls only, so the Scala converter
(``petastorm.spark.SparkDatasetConverter``) computes the same key for the same plan::

    petastorm-converter-cache-v1
    spark=<spark version>
    timeZone=<spark.sql.session.timeZone>
    ansi=<spark.sql.ansi.enabled>
    rowGroupSizeBytes=<n>
    compression=<codec>
    dtype=<float32|float64|none>
    schema=<analyzed plan's schema as JSON>
    plan:
    <canonicalized analyzed plan, verbose tree string, no field truncation>
    files:
    <input file URL>\\t<length>\\t<modification time ms>     (one line per input file, sorted)

Only plans whose result is a function of that text are eligible: deterministic, no user code
(UDFs, typed lambdas, pandas functions), no subqueries, and every leaf a file-based relation
(``spark.read`` of files or tables over files), ``Range`` or ``OneRowRelation``. Others
(``createDataFrame`` from local data or RDDs, JDBC, streams...) are converted as usual, but not
persisted for reuse.
"""
import hashlib
import json
import logging
import re

logger = logging.getLogger(__name__)

KEY_FORMAT = 'petastorm-converter-cache-v1'
MARKER = '_petastorm_converter_complete'

_LEAVES = {
    'org.apache.spark.sql.catalyst.plans.logical.Range',
    'org.apache.spark.sql.catalyst.plans.logical.OneRowRelation',
}
_FILE_RELATION = 'org.apache.spark.sql.execution.datasources.LogicalRelation'
_HADOOP_FS_RELATION = 'org.apache.spark.sql.execution.datasources.HadoopFsRelation'
_V2_RELATION = 'org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation'
_FILE_TABLE = 'org.apache.spark.sql.execution.datasources.v2.FileTable'
# simple class names (anywhere in the plan's JSON) that carry user code, or plans the key cannot see
_DENIED = re.compile(r'UDF|UDAF|UDTF|Udf|PythonFunction|ScalaAggregator|Pandas|Arrow'
                     r'|MapElements|MapPartitions|AppendColumns|MapGroups|CoGroup|TypedFilter|ObjectToObject'
                     r'|ScriptTransformation|Subquery|ListQuery|^Exists$|LogicalRDD|ExternalRDD|LocalRelation'
                     r'|Streaming|Stateful|WithState')
_CLASS = re.compile(r'"class"\s*:\s*"([^"]+)"')


def _seq(jseq):
    return [jseq.apply(i) for i in range(jseq.size())]


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
        for name in set(_CLASS.findall(plan.toJSON())):
            simple = name.rsplit('.', 1)[-1].split('$')[0]
            if _DENIED.search(simple):
                return 'the plan holds {}'.format(simple)
    except Exception as e:  # a plan we can't inspect is not persisted
        return 'the plan could not be inspected ({})'.format(e)
    return None


def key_text(spark, plan, input_files, row_group_size_bytes, compression_codec, dtype):
    """The text hashed into the key (see the module docstring); ``input_files`` is a sorted list of
    ``(url, length, mtime)``."""
    conf = spark._jsparkSession.conf()
    lines = [KEY_FORMAT,
             'spark=' + spark._jsparkSession.version(),
             'timeZone=' + conf.get('spark.sql.session.timeZone'),
             'ansi=' + conf.get('spark.sql.ansi.enabled'),
             'rowGroupSizeBytes=' + str(int(row_group_size_bytes)),
             'compression=' + compression_codec,
             'dtype=' + (dtype or 'none'),
             'schema=' + plan.schema().json(),
             'plan:',
             plan.canonicalized().treeString(True, False, 2147483647, False).rstrip('\n'),
             'files:']
    lines += ['{}\t{}\t{}'.format(url, length, mtime) for url, length, mtime in input_files]
    return '\n'.join(lines) + '\n'


def persistent_key(spark, df, fs, row_group_size_bytes, compression_codec, dtype):
    """The persistent-cache key of ``df`` with these options, or ``None`` (logged) when ineligible."""
    jvm = spark.sparkContext._jvm
    plan = df._jdf.queryExecution().analyzed()
    reason = ineligible_reason(jvm, plan)
    if reason is not None:
        logger.info('Not using the persistent converter cache for this DataFrame: %s.', reason)
        return None
    files = sorted(str(u) for u in df._jdf.inputFiles())
    fingerprints = [(u,) + fs.status(u) for u in files]
    text = key_text(spark, plan, fingerprints, row_group_size_bytes, compression_codec, dtype)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def marker_bytes(key, rows, files):
    """The marker's JSON: the key, the row count and ``[relative path, length]`` of every file."""
    return json.dumps({'format': KEY_FORMAT, 'key': key, 'rows': int(rows),
                       'files': [[rel, int(length)] for rel, length in files]}, sort_keys=True).encode('utf-8')


def check_marker(fs, dir_url, key):
    """``(rows, [(relative path, length)])`` when ``dir_url`` holds a complete write for ``key``
    (marker present and matching, every listed file there with its length), else ``None``."""
    try:
        data = fs.read_bytes(dir_url + '/' + MARKER)
        if data is None:
            return None
        marker = json.loads(data.decode('utf-8'))
        if marker.get('format') != KEY_FORMAT or marker.get('key') != key:
            return None
        files = sorted((str(rel), int(length)) for rel, length in marker['files'])
        if fs.list_parquet_files(dir_url) != files or not files:
            return None
        return int(marker['rows']), files
    except Exception as e:  # an unreadable or foreign marker is never reused
        logger.warning('Ignoring converter cache %s: %r', dir_url, e)
        return None
