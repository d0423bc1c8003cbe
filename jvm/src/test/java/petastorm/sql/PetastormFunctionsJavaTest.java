package petastorm.sql;

import static org.apache.spark.sql.functions.col;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import petastorm.TestUtil;
import petastorm.codecs.CompressedImageCodec;
import petastorm.codecs.NdarrayCodec;
import petastorm.codecs.ScalarCodec;
import petastorm.etl.DatasetMetadata;
import petastorm.unischema.NdArray;
import petastorm.unischema.Unischema;
import petastorm.unischema.UnischemaField;

/** The static-method surface from plain Java. */
public class PetastormFunctionsJavaTest {
    private static SparkSession spark;

    private static final Unischema SCHEMA = Unischema.of("JavaSchema", Arrays.asList(
            UnischemaField.of("id", "int32", new Integer[0], new ScalarCodec(DataTypes.IntegerType), false),
            UnischemaField.of("image", "uint8", new Integer[] {1, 2, 3}, new CompressedImageCodec("png", 80), false),
            UnischemaField.of("values", "float64", new Integer[] {null}, new NdarrayCodec(), true)));

    @BeforeClass
    public static void start() {
        spark = SparkSession.builder().master("local[1]").appName("petastorm-native-java-tests")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
    }

    @AfterClass
    public static void stop() {
        if (spark != null) spark.stop();
    }

    private static Dataset<Row> input() {
        StructType types = new StructType()
                .add("id", DataTypes.LongType)
                .add("image", PetastormFunctions.imageSchema())
                .add("values", DataTypes.createArrayType(DataTypes.DoubleType));
        byte[] bgr = {3, 2, 1, 6, 5, 4};
        List<Row> rows = Arrays.asList(RowFactory.create(5L, RowFactory.create("x.png", 1, 2, 3, 16, bgr),
                Arrays.asList(0.5, 1.5)));
        return spark.createDataFrame(rows, types);
    }

    @Test
    public void encodesAndDecodesFromJava() {
        Unischema schema = PetastormFunctions.schemaFromJson(SCHEMA.toJson());
        Row r = input().select(PetastormFunctions.encodeImage(col("image"), schema, "image"),
                PetastormFunctions.encode(col("values"), schema, "values")).collectAsList().get(0);
        UnischemaField image = schema.field("image");
        byte[] expected = (byte[]) image.codec().encode(image, new NdArray("|u1", new long[] {1, 2, 3}, new byte[] {1, 2, 3, 4, 5, 6}, false));
        assertArrayEquals(expected, (byte[]) r.get(0));

        Dataset<Row> encoded = PetastormFunctions.encodeDataFrame(input(), schema);
        Row d = encoded.select(PetastormFunctions.decode(col("values"), schema, "values"),
                PetastormFunctions.decodeShape(col("image"), schema, "image"),
                PetastormFunctions.decodeImage(col("image"), schema, "image")).collectAsList().get(0);
        assertEquals(Arrays.asList(0.5, 1.5), d.getList(0));
        assertEquals(Arrays.asList(1, 2, 3), d.getList(1));
        assertArrayEquals(new byte[] {3, 2, 1, 6, 5, 4}, (byte[]) d.getStruct(2).get(5));
    }

    @Test
    public void writesADataset() throws Exception {
        File dir = Files.createTempDirectory("java-write").toFile();
        try {
            String url = new File(dir, "ds").toURI().toString();
            PetastormFunctions.writeDataset(input(), url, SCHEMA, 8);
            assertEquals(SCHEMA, DatasetMetadata.getSchemaFromDatasetUrl(spark, url));
            Row r = spark.read().parquet(url).collectAsList().get(0);
            assertEquals(5, r.getInt(r.fieldIndex("id")));
            assertTrue(new File(dir, "ds/_common_metadata").isFile());
        } finally {
            TestUtil.deleteRecursively(dir);
        }
    }
}
