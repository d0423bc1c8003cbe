"""petastorm-throughput.py: opens a reader on a dataset and measures how many samples per second it
yields (after warmup cycles), with the process's memory and CPU use."""
import argparse
import logging
import sys

from petastorm.benchmark.throughput import ReadMethod, WorkerPoolType, reader_throughput

# --min-after-dequeue defaults to this share of --shuffling-queue-size, as upstream
_MIN_AFTER_DEQUEUE_RATIO = 0.8


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog='petastorm-throughput.py', description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('dataset_path', type=str, help='URL of a petastorm dataset (file://, s3://, ...)')
    parser.add_argument('--field-regex', type=str, nargs='+',
                        help='Regular expressions: only fields matching one of them are read.')
    parser.add_argument('-w', '--workers-count', type=int, default=3, help='Decoding threads of the reader.')
    parser.add_argument('-p', '--pool-type', type=WorkerPoolType, default=WorkerPoolType.THREAD,
                        choices=list(WorkerPoolType), help='The reader_pool_type of the reader.')
    parser.add_argument('-m', '--warmup-cycles', type=int, default=200,
                        help='Samples read before the measurement starts (not counted).')
    parser.add_argument('-n', '--measure-cycles', type=int, default=1000, help='Samples read and timed.')
    parser.add_argument('--profile-threads', action='store_true',
                        help='Accepted for compatibility (decoding runs in native threads).')
    parser.add_argument('-d', '--read-method', type=ReadMethod, choices=list(ReadMethod), default=ReadMethod.PYTHON,
                        help="'python': next(reader); 'tf': through a tf.data.Dataset (make_petastorm_dataset).")
    parser.add_argument('-q', '--shuffling-queue-size', type=int, default=500,
                        help='Shuffling buffer of the tf read method (0: none).')
    parser.add_argument('--min-after-dequeue', type=int, default=None,
                        help='Accepted for compatibility; default {:.0f}%% of --shuffling-queue-size.'.format(
                            100 * _MIN_AFTER_DEQUEUE_RATIO))
    parser.add_argument('--no-progress', action='store_true', help='No progress bar on stderr.')
    parser.add_argument('-vv', action='store_true', default=False, help='Sets logging level to DEBUG.')
    parser.add_argument('-v', action='store_true', default=False, help='Sets logging level to INFO.')
    args = parser.parse_args(argv)
    if not args.min_after_dequeue:
        args.min_after_dequeue = int(_MIN_AFTER_DEQUEUE_RATIO * args.shuffling_queue_size)
    return args


def _main(argv):
    logging.basicConfig()
    args = _parse_args(argv)
    if args.v or args.vv:
        logging.getLogger().setLevel(logging.DEBUG if args.vv else logging.INFO)
    results = reader_throughput(args.dataset_path, args.field_regex, warmup_cycles_count=args.warmup_cycles,
                                measure_cycles_count=args.measure_cycles, pool_type=args.pool_type,
                                loaders_count=args.workers_count, profile_threads=args.profile_threads,
                                read_method=args.read_method, shuffling_queue_size=args.shuffling_queue_size,
                                min_after_dequeue=args.min_after_dequeue, show_progress=not args.no_progress)
    print('Average sample read rate: {:1.2f} samples/sec; RAM {:1.2f} MB (rss); CPU {:1.2f}%'.format(
        results.samples_per_second, results.memory_info.rss / 2 ** 20, results.cpu))


def main():
    """Console script ``petastorm-throughput.py``."""
    _main(sys.argv[1:])


if __name__ == '__main__':
    main()
