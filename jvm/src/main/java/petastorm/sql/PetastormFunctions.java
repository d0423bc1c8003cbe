package petastorm.sql;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

import petastorm.etl.DatasetWriter;
import petastorm.unischema.Unischema;

/**
 * The Java-friendly (and PySpark, through {@code spark._jvm}) face of {@link functions} and
 * {@link DatasetWriter}: static methods only.
 */
public final class PetastormFunctions {
    private PetastormFunctions() {}

    /** A Unischema from its JSON form (docs/ffi.md); how PySpark hands schemas over. */
    public static Unischema schemaFromJson(String json) {
        return Unischema.fromJson(json);
    }

    /** The schema of Spark's {@code image} struct. */
    public static StructType imageSchema() {
        return functions.imageSchema();
    }

    public static Column encode(Column column, Unischema schema, String fieldName) {
        return functions.encode(column, schema, fieldName);
    }

    public static Column encode(Column column, Unischema schema, String fieldName, Column shape) {
        return functions.encode(column, schema, fieldName, shape);
    }

    public static Column encodeImage(Column column, Unischema schema, String fieldName) {
        return functions.encodeImage(column, schema, fieldName);
    }

    public static Column decode(Column column, Unischema schema, String fieldName) {
        return functions.decode(column, schema, fieldName);
    }

    public static Column decodeShape(Column column, Unischema schema, String fieldName) {
        return functions.decodeShape(column, schema, fieldName);
    }

    public static Column decodeImage(Column column, Unischema schema, String fieldName) {
        return functions.decodeImage(column, schema, fieldName);
    }

    public static Dataset<Row> encodeDataFrame(Dataset<Row> df, Unischema schema) {
        return DatasetWriter.encodeDataFrame(df, schema);
    }

    public static void writeDataset(Dataset<Row> df, String datasetUrl, Unischema schema, int rowGroupSizeMb) {
        DatasetWriter.writeDataset(df, datasetUrl, schema, rowGroupSizeMb, "overwrite");
    }

    public static void writeDataset(Dataset<Row> df, String datasetUrl, Unischema schema, int rowGroupSizeMb,
                                    String mode) {
        DatasetWriter.writeDataset(df, datasetUrl, schema, rowGroupSizeMb, mode);
    }

    /** {@code shapes}: field name to the shape column of fields whose values do not tell their shape. */
    public static void writeDataset(Dataset<Row> df, String datasetUrl, Unischema schema, int rowGroupSizeMb,
                                    String mode, java.util.Map<String, Column> shapes) {
        DatasetWriter.writeDataset(df, datasetUrl, schema, rowGroupSizeMb, mode, shapes);
    }
}
