package wordcloud;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.connector.read.Batch;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.connector.read.SupportsPushDownRequiredColumns;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;
import org.apache.spark.unsafe.types.UTF8String;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The review TSV files as rows of string fields, cut at tabs byte by byte: a measuring device for
 * {@code benchmarks/bench_local_graph.py}, not used by the pipeline.
 *
 * <p>Why it exists: Spark's text reader plus {@code split}, which the ingest uses, decodes every line into a
 * Java string and encodes each of its fifteen fields back to UTF-8. This reader keeps a line as bytes,
 * counts its tabs in one pass and copies out only the fields a query uses: about the least a JVM reader can
 * do. The benchmark times the same query through both readers, which says how much of Spark's cost per row
 * a reader of our own could remove (the README's Performance section has the figures and why the pipeline
 * does not ship this: a jar to build and to send to EMR for a saving the whole graph's noise hides).
 *
 * <p>Options: {@code header}, the files' header line (the columns; tab-separated); {@code paths}, the files
 * (as {@code load(paths)} gives them). Rows: one string column per header name (null on a malformed line),
 * {@code _corrupt_record} (the whole line when its field count differs from the header's) and
 * {@code _source_uri} (the file's qualified URI), as {@code spark_scripts/reviews.py} gives them. Empty
 * lines and header lines are skipped. Lines end at {@code \n}, {@code \r\n} or {@code \r}, as Hadoop's
 * line reader ends them.
 */
public final class ReviewLinesSource implements TableProvider {
  static final String CORRUPT_RECORD = "_corrupt_record";
  static final String SOURCE_URI = "_source_uri";

  @Override
  public StructType inferSchema(CaseInsensitiveStringMap options) {
    return schemaOf(columnsOf(options.get("header")));
  }

  @Override
  public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
    return new LinesTable(schema);
  }

  static String[] columnsOf(String header) {
    if (header == null || header.isEmpty()) {
      throw new IllegalArgumentException("option 'header' (the files' header line) is required");
    }
    return header.split("\t", -1);
  }

  static StructType schemaOf(String[] columns) {
    List<StructField> fields = new ArrayList<>();
    for (String column : columns) {
      fields.add(DataTypes.createStructField(column, DataTypes.StringType, true));
    }
    fields.add(DataTypes.createStructField(CORRUPT_RECORD, DataTypes.StringType, true));
    fields.add(DataTypes.createStructField(SOURCE_URI, DataTypes.StringType, true));
    return DataTypes.createStructType(fields);
  }

  static final class LinesTable implements Table, SupportsRead {
    private final StructType schema;

    LinesTable(StructType schema) {
      this.schema = schema;
    }

    @Override
    public String name() {
      return "review_lines";
    }

    // Deprecated in Spark 3.5 for columns(), which defaults to it; Spark 3.x still calls schema().
    @SuppressWarnings("deprecation")
    @Override
    public StructType schema() {
      return schema;
    }

    @Override
    public Set<TableCapability> capabilities() {
      return EnumSet.of(TableCapability.BATCH_READ);
    }

    @Override
    public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
      return new LinesScan(options, schema);
    }
  }

  static final class LinesScan implements ScanBuilder, SupportsPushDownRequiredColumns, Scan, Batch {
    private final String header;
    private final String[] paths;
    private final StructType full;
    private StructType required;

    LinesScan(CaseInsensitiveStringMap options, StructType full) {
      this.header = options.get("header");
      columnsOf(header);
      try {
        this.paths = new ObjectMapper().readValue(options.getOrDefault("paths", "[]"), String[].class);
      } catch (IOException e) {
        throw new IllegalArgumentException("option 'paths' is not a JSON list of files", e);
      }
      this.full = full;
      this.required = full;
    }

    @Override
    public void pruneColumns(StructType requiredSchema) {
      this.required = requiredSchema;
    }

    @Override
    public Scan build() {
      return this;
    }

    @Override
    public StructType readSchema() {
      return required;
    }

    @Override
    public String description() {
      return "ReviewLines " + paths.length + " files, columns " + Arrays.toString(required.fieldNames());
    }

    @Override
    public Batch toBatch() {
      return this;
    }

    @Override
    public InputPartition[] planInputPartitions() {
      InputPartition[] files = new InputPartition[paths.length];
      for (int i = 0; i < paths.length; i++) {
        files[i] = new LinesFile(paths[i]);
      }
      return files;
    }

    @Override
    public PartitionReaderFactory createReaderFactory() {
      String[] names = full.fieldNames();
      int[] wanted = new int[required.size()];
      for (int i = 0; i < wanted.length; i++) {
        wanted[i] = Arrays.asList(names).indexOf(required.fields()[i].name());
      }
      Configuration conf = SparkSession.active().sessionState().newHadoopConf();
      return new LinesReaderFactory(header, wanted, new SerializableConfiguration(conf));
    }
  }

  static final class LinesFile implements InputPartition {
    final String path;

    LinesFile(String path) {
      this.path = path;
    }
  }

  static final class LinesReaderFactory implements PartitionReaderFactory {
    private final String header;
    private final int[] wanted;
    private final SerializableConfiguration conf;

    LinesReaderFactory(String header, int[] wanted, SerializableConfiguration conf) {
      this.header = header;
      this.wanted = wanted;
      this.conf = conf;
    }

    @Override
    public PartitionReader<InternalRow> createReader(InputPartition partition) {
      try {
        return new LinesReader(((LinesFile) partition).path, header, wanted, conf.value());
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    }
  }

  /** One file's lines; {@code wanted} holds, per output column, its index in the full schema. */
  static final class LinesReader implements PartitionReader<InternalRow> {
    private static final byte TAB = '\t';
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
    private final InputStream in;
    private final byte[] header;
    private final int width;
    private final int[] wanted;
    private final UTF8String source;
    private final int[] tabs;
    private byte[] buf = new byte[1 << 16];
    private int start;
    private int end;
    private boolean eof;
    private boolean skipNewline;
    private InternalRow row;

    LinesReader(String file, String header, int[] wanted, Configuration conf) throws IOException {
      Path path = new Path(file);
      FileSystem fs = path.getFileSystem(conf);
      InputStream raw = fs.open(path);
      CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(path);
      this.in = codec == null ? raw : codec.createInputStream(raw);
      this.header = header.getBytes(StandardCharsets.UTF_8);
      this.width = columnsOf(header).length;
      this.wanted = wanted;
      this.source = UTF8String.fromString(fs.makeQualified(path).toUri().toString());
      this.tabs = new int[width + 1];
    }

    @Override
    public boolean next() throws IOException {
      while (true) {
        int lineEnd = findLineEnd();
        if (lineEnd < 0) {
          return false;
        }
        int lineStart = start;
        start = lineEnd;
        consumeTerminator();
        if (lineEnd > lineStart && !isHeader(lineStart, lineEnd)) {
          row = toRow(lineStart, lineEnd);
          return true;
        }
      }
    }

    /** The end of the next line in {@code buf} (reading more as needed), or -1 when none is left. */
    private int findLineEnd() throws IOException {
      int scanned = start;
      while (true) {
        for (int i = scanned; i < end; i++) {
          byte b = buf[i];
          if (b == '\n' || b == '\r') {
            return i;
          }
        }
        scanned = end;
        if (eof) {
          return end > start ? end : -1;
        }
        scanned -= start;
        fill();
      }
    }

    private void consumeTerminator() throws IOException {
      if (start >= end) {
        return;
      }
      byte b = buf[start++];
      if (b == '\r') {
        if (start >= end && !eof) {
          fill();
        }
        if (start < end && buf[start] == '\n') {
          start++;
        }
      }
    }

    /** Moves the unread bytes to the front (growing the buffer when a line fills it) and reads more. */
    private void fill() throws IOException {
      int left = end - start;
      if (left == buf.length) {
        buf = Arrays.copyOf(buf, buf.length * 2);
      } else if (start > 0) {
        System.arraycopy(buf, start, buf, 0, left);
      }
      start = 0;
      end = left;
      int n = in.read(buf, end, buf.length - end);
      if (n < 0) {
        eof = true;
      } else {
        end += n;
      }
    }

    private boolean isHeader(int from, int to) {
      int length = to - from;
      if (length == header.length) {
        return sameBytes(from, header, 0, header.length);
      }
      return length == header.length + BOM.length
          && sameBytes(from, BOM, 0, BOM.length)
          && sameBytes(from + BOM.length, header, 0, header.length);
    }

    /** Arrays.equals over ranges is Java 9+; the jar targets Java 8, which EMR 6 runs. */
    private boolean sameBytes(int from, byte[] other, int otherFrom, int length) {
      for (int i = 0; i < length; i++) {
        if (buf[from + i] != other[otherFrom + i]) {
          return false;
        }
      }
      return true;
    }

    private InternalRow toRow(int from, int to) {
      int count = 0;
      tabs[0] = from - 1;
      for (int i = from; i < to; i++) {
        if (buf[i] == TAB) {
          if (++count < width) {
            tabs[count] = i;
          }
        }
      }
      boolean wellFormed = count == width - 1;
      tabs[width] = to;
      Object[] values = new Object[wanted.length];
      for (int c = 0; c < wanted.length; c++) {
        int field = wanted[c];
        if (field < width) {
          if (wellFormed) {
            int s = tabs[field] + 1;
            values[c] = UTF8String.fromBytes(Arrays.copyOfRange(buf, s, tabs[field + 1]));
          }
        } else if (field == width) {
          if (!wellFormed) {
            values[c] = UTF8String.fromBytes(Arrays.copyOfRange(buf, from, to));
          }
        } else {
          values[c] = source;
        }
      }
      return new GenericInternalRow(values);
    }

    @Override
    public InternalRow get() {
      return row;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
