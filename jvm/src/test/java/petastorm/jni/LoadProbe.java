package petastorm.jni;

/** Run in a child JVM by NativeLibLoadTest: loads the library and makes one native call. */
public final class LoadProbe {
    private LoadProbe() {}

    public static void main(String[] args) {
        System.out.println("loaded-from=" + NativeLib.loadedFrom());
        System.out.println("file-exists=" + new java.io.File(NativeLib.loadedFrom()).exists());
        System.out.println("conf=" + NativeLib.writerHadoopConf(256));
    }
}
