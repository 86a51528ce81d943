package dev.shunt.state;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads manifests as users write them: Kubernetes {@code v1} Services, Shunt's own Node and Pod
 * ({@code shunt.dev/v1}), and {@code v1} Lists of those ({@code kind: List} with {@code items}, as
 * {@code kubectl get -o yaml} writes them); YAML with any number of documents, or JSON
 * ({@link ManifestText}).
 *
 * <p>All or nothing: every document is read and checked, and any problem refuses the whole text
 * with a {@link ManifestException} that lists them all, each with its object and field path.
 * Fields a manifest may carry without effect here are ignored: those Kubernetes sets itself
 * ({@code status}, {@code metadata.uid}, ...) and descriptive ones (labels of a Service,
 * annotations) silently, any other with a warning naming the field. Shunt has one namespace:
 * {@code metadata.namespace} other than {@code default} is ignored with a warning.
 */
public final class ManifestReader {
    /** metadata fields that describe an object or are set by a server: ignored without a word. */
    private static final String[] SILENT_METADATA = {"labels", "annotations", "uid", "resourceVersion", "creationTimestamp",
            "generation", "managedFields", "selfLink", "finalizers", "ownerReferences", "deletionTimestamp",
            "deletionGracePeriodSeconds", "generateName"};
    private static final String TAKEN = "v1 Service, v1 List, shunt.dev/v1 Node and shunt.dev/v1 Pod";

    private final Problems problems = new Problems();
    private final boolean referencesOnly;
    private final List<StateObject> objects = new ArrayList<>();
    private final List<ObjectRef> references = new ArrayList<>();
    /** Where each object was first given ("document 2"), to name it when it comes again. */
    private final Map<ObjectRef, String> seen = new HashMap<>();

    private ManifestReader(boolean referencesOnly) {
        this.referencesOnly = referencesOnly;
    }

    /** Every object {@code text} declares, checked; refused as a whole ({@link ManifestException}) if anything is wrong. */
    public static Manifest read(String text) {
        ManifestReader reader = new ManifestReader(false);
        reader.readAll(text);
        return new Manifest(reader.objects, reader.problems.warnings());
    }

    /**
     * Only the kind and name of every object (what deleting them needs): their specs are not
     * read, so a file that no longer applies can still delete what it once made.
     */
    public static List<ObjectRef> readReferences(String text) {
        ManifestReader reader = new ManifestReader(true);
        reader.readAll(text);
        return List.copyOf(reader.references);
    }

    private void readAll(String text) {
        for (ManifestText.Document document : ManifestText.parse(text)) {
            JsonNode root = document.root();
            if (root.isNull() || (root.isTextual() && root.textValue().isEmpty())) {
                continue; // an empty document: a stray "---", or only comments
            }
            readObject(root, "document " + document.number(), false);
        }
        if (problems.errorCount() > 0) {
            throw new ManifestException(problems.errors(), problems.warnings());
        }
    }

    private void readObject(JsonNode node, String where, boolean inList) {
        problems.about(where);
        if (!node.isObject()) {
            problems.error("", "expected a manifest (a mapping with apiVersion, kind, metadata ...), not " + Fields.describe(node));
            return;
        }
        Fields root = Fields.of(node, "", problems).orElseThrow();
        Optional<String> apiVersion = root.requiredString("apiVersion");
        Optional<String> kindName = root.requiredString("kind");
        if (apiVersion.isEmpty() || kindName.isEmpty()) {
            return;
        }
        if (kindName.get().equals("List")) {
            readList(root, where, inList, apiVersion.get());
            return;
        }
        Optional<Kind> kind = kindOf(root, apiVersion.get(), kindName.get());
        if (kind.isEmpty()) {
            return;
        }
        Optional<Fields> metadata = root.requiredObject("metadata");
        if (metadata.isEmpty()) {
            return;
        }
        Fields meta = metadata.get();
        Optional<String> name = meta.requiredString("name").flatMap(n -> validName(meta, kind.get(), n));
        if (name.isEmpty()) {
            return;
        }
        ObjectRef ref = new ObjectRef(kind.get(), name.get());
        problems.about(ref.path());
        String first = seen.putIfAbsent(ref, where);
        if (first != null) {
            problems.error("", "given twice (also in " + first + ")");
            return;
        }
        if (referencesOnly) {
            references.add(ref);
            return;
        }
        meta.string("namespace").filter(ns -> !ns.equals("default")).ifPresent(ns -> problems.warn(meta.pathOf("namespace"),
                Fields.quote(ns) + " ignored: Shunt keeps every object in one namespace"));
        Optional<? extends StateObject> object = switch (kind.get()) {
            case SERVICE -> ServiceManifest.read(root, name.get());
            case NODE -> NodeManifest.read(root, name.get());
            case POD -> PodManifest.read(root, meta, name.get());
        };
        meta.ignore(SILENT_METADATA);
        meta.finish();
        root.finish();
        object.ifPresent(objects::add);
    }

    private void readList(Fields root, String where, boolean inList, String apiVersion) {
        if (inList) {
            problems.error("kind", "a List inside a List is not supported");
            return;
        }
        if (!apiVersion.equals("v1")) {
            problems.error("apiVersion", Fields.quote(apiVersion) + " is not the apiVersion of a List (v1)");
            return;
        }
        root.ignore("metadata");
        Optional<List<Fields.Element>> items = root.list("items");
        root.finish();
        for (Fields.Element item : items.orElse(List.of())) {
            readObject(item.value(), where + " " + item.path(), true);
        }
    }

    private Optional<Kind> kindOf(Fields root, String apiVersion, String kind) {
        for (Kind k : Kind.values()) {
            if (!k.manifestKind().equals(kind)) {
                continue;
            }
            String expected = k == Kind.SERVICE ? ServiceManifest.API_VERSION : k == Kind.NODE ? NodeManifest.API_VERSION
                    : PodManifest.API_VERSION;
            if (apiVersion.equals(expected)) {
                return Optional.of(k);
            }
            if (k != Kind.SERVICE && apiVersion.equals("v1")) {
                problems.error("apiVersion", "v1 is Kubernetes' " + kind + ", which Shunt does not take; Shunt's own "
                        + kind + " kind has apiVersion " + expected);
            } else {
                problems.error("apiVersion", Fields.quote(apiVersion) + " is not the apiVersion of a " + kind + " (" + expected + ")");
            }
            return Optional.empty();
        }
        problems.error("kind", Fields.quote(kind) + " is not a kind Shunt takes: " + TAKEN);
        return Optional.empty();
    }

    private Optional<String> validName(Fields meta, Kind kind, String name) {
        Pattern rule;
        String text;
        switch (kind) {
            case SERVICE -> {
                rule = ValueRules.SERVICE_NAME;
                text = "1-63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit";
            }
            case NODE -> {
                rule = ValueRules.NODE_NAME;
                text = "1-16 lower-case letters, digits and '-', starting and ending with a letter or digit";
            }
            default -> {
                rule = ValueRules.POD_NAME;
                text = "1-53 lower-case letters, digits and '-', starting and ending with a letter or digit";
            }
        }
        return ValueRules.name(problems, meta.pathOf("name"), name, rule, kind.manifestKind(), text);
    }
}
