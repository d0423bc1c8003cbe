"""Spark session flags shared by the command-line tools (upstream's ``petastorm.tools.spark_session_cli``):
``--master`` and ``--spark-session-config key=value ...``."""


def add_configure_spark_arguments(parser):
    """Adds ``--master`` and ``--spark-session-config`` to an ``argparse`` parser."""
    parser.add_argument('--master', type=str, help='Spark master (default: Spark\'s own, e.g. local[*])')
    parser.add_argument('--spark-session-config', type=str, nargs='+', default=[],
                        help='Spark session settings as key=value pairs, e.g. spark.driver.memory=4g')


def configure_spark(spark_session_builder, args):
    """Applies the parsed ``--master``/``--spark-session-config`` to a ``SparkSession.Builder``."""
    if args.master:
        spark_session_builder.master(args.master)
    for pair in args.spark_session_config or []:
        key, sep, value = pair.partition('=')
        if not sep or not key:
            raise ValueError('--spark-session-config expects key=value pairs, got {!r}'.format(pair))
        spark_session_builder.config(key, value)
    return spark_session_builder
