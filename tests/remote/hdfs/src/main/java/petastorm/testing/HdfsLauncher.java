package petastorm.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * Starts a one-DataNode HDFS (MiniDFSCluster) on 127.0.0.1 for tests.
 *
 * <p>Usage: {@code HdfsLauncher BASE_DIR}. The NameNode RPC port is chosen free by the kernel;
 * once the cluster is up, one line {@code HDFS_READY hdfs://127.0.0.1:PORT} is printed to stdout
 * (logs go to stderr). The cluster shuts down when stdin closes or on SIGTERM.
 */
public final class HdfsLauncher {
  private HdfsLauncher() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: HdfsLauncher BASE_DIR");
      System.exit(2);
    }
    MiniDFSCluster cluster;
    try {
      cluster = start(new File(args[0]));
    } catch (Throwable e) {
      e.printStackTrace();
      // Exit now: threads the failed start left running must not keep the JVM alive.
      Runtime.getRuntime().halt(1);
      return;
    }
    AtomicBoolean stopped = new AtomicBoolean();
    Runnable stop = () -> {
      if (stopped.compareAndSet(false, true)) {
        cluster.shutdown(true);
      }
    };
    // SIGTERM: stop in the shutdown hook.
    Runtime.getRuntime().addShutdownHook(new Thread(stop));
    System.out.println("HDFS_READY hdfs://127.0.0.1:" + cluster.getNameNodePort());
    System.out.flush();
    drain(System.in);
    // stdin closed: stop here, while the JVM still runs normally.
    stop.run();
    System.exit(0);
  }

  /** A formatted cluster whose NameNode and DataNode listen and advertise on 127.0.0.1 only. */
  static MiniDFSCluster start(File baseDir) throws IOException {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.getAbsolutePath());
    // Clients (Spark, the native hdfs client) connect to the address the NameNode reports.
    conf.set(DFSConfigKeys.DFS_DATANODE_HOST_NAME_KEY, "127.0.0.1");
    conf.setInt(DFSConfigKeys.DFS_REPLICATION_KEY, 1);
    // Test writers run as whatever user the test process is.
    conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, false);
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, baseDir)
        .numDataNodes(1)
        .nameNodePort(0)
        .nameNodeHttpPort(0)
        .checkDataNodeHostConfig(true)
        .build();
    cluster.waitActive();
    return cluster;
  }

  private static void drain(InputStream in) throws IOException {
    byte[] buf = new byte[256];
    while (in.read(buf) >= 0) {
      // Input is ignored; only its end matters.
    }
  }
}
