#include "scenarios/reference.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <memory>
#include <sstream>

#include "scenarios/proto/options.pb.h"

extern const unsigned char kScenarioDescriptorSet[];
extern const std::size_t kScenarioDescriptorSetSize;

namespace ingresslab::scenarios {
namespace {

namespace pb = google::protobuf;

constexpr const char* kScenarioProto = "scenarios/proto/scenario.proto";

std::string one_line(const std::string& comment) {
  std::string out;
  std::istringstream in(comment);
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    if (!out.empty()) out += ' ';
    out += line.substr(start);
  }
  std::string escaped;
  for (char c : out) {
    if (c == '|') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

std::string paragraph(const std::string& comment) {
  std::string out;
  std::istringstream in(comment);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == ' ') line.erase(0, 1);
    out += line + "\n";
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string anchor(const pb::Descriptor* d) {
  return lower(d->name());
}

std::string unit_name(scenario::Unit u) {
  switch (u) {
    case scenario::SECONDS:
      return "duration";
    case scenario::BYTES:
      return "size";
    case scenario::PER_SECOND:
      return "rate";
    case scenario::RATIO:
      return "ratio";
    case scenario::BITS_PER_SECOND:
      return "bandwidth";
    case scenario::CORES:
      return "cores";
    case scenario::FROM_CONTEXT:
      return "value in the distribution's unit";
    default:
      return "";
  }
}

std::string type_of(const pb::FieldDescriptor* f) {
  std::string t;
  const scenario::Unit u = f->options().GetExtension(scenario::unit);
  if (f->is_map()) {
    return "map of " + std::string(f->message_type()->map_key()->type_name()) + " to " +
           f->message_type()->map_value()->type_name();
  }
  if (f->message_type() != nullptr) {
    if (f->message_type()->full_name() == "google.protobuf.Duration") {
      t = "duration";
    } else {
      t = "[" + f->message_type()->name() + "](#" + anchor(f->message_type()) + ")";
      if (u != scenario::UNIT_NONE) t += " (" + unit_name(u) + ")";
    }
  } else if (f->enum_type() != nullptr) {
    std::string values;
    for (int i = 0; i < f->enum_type()->value_count(); ++i) {
      const auto* v = f->enum_type()->value(i);
      if (v->number() == 0) continue;
      values += (values.empty() ? "" : ", ") + std::string("`") + lower(v->name()) + "`";
    }
    t = "one of " + values;
  } else if (u != scenario::UNIT_NONE) {
    t = unit_name(u);
  } else {
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        t = "string";
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        t = "bool";
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        t = "number";
        break;
      default:
        t = "integer";
    }
  }
  if (f->is_repeated()) t = "list of " + t;
  return t;
}

void render_message(const pb::Descriptor* d, std::ostringstream& out) {
  pb::SourceLocation loc;
  out << "## " << d->name() << "\n\n";
  if (d->GetSourceLocation(&loc) && !loc.leading_comments.empty()) {
    out << paragraph(loc.leading_comments) << "\n";
  }
  if (d->field_count() > 0) {
    out << "| field | type | default | valid range | description |\n";
    out << "| --- | --- | --- | --- | --- |\n";
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      std::string description;
      if (f->GetSourceLocation(&loc)) description = one_line(loc.leading_comments);
      if (const pb::OneofDescriptor* o = f->real_containing_oneof(); o != nullptr) {
        description = "(one of `" + o->name() + "`) " + description;
      }
      out << "| `" << f->name() << "` | " << type_of(f) << " | "
          << one_line(f->options().GetExtension(scenario::default_value)) << " | "
          << one_line(f->options().GetExtension(scenario::valid_range)) << " | " << description
          << " |\n";
    }
    out << "\n";
  }
  for (int i = 0; i < d->enum_type_count(); ++i) {
    const pb::EnumDescriptor* e = d->enum_type(i);
    out << "### " << d->name() << "." << e->name() << "\n\n";
    out << "| value | meaning |\n| --- | --- |\n";
    for (int k = 0; k < e->value_count(); ++k) {
      const pb::EnumValueDescriptor* v = e->value(k);
      if (v->number() == 0) continue;
      std::string description;
      if (v->GetSourceLocation(&loc)) {
        description =
            one_line(loc.leading_comments.empty() ? loc.trailing_comments : loc.leading_comments);
      }
      out << "| `" << lower(v->name()) << "` | " << description << " |\n";
    }
    out << "\n";
  }
  for (int i = 0; i < d->nested_type_count(); ++i) {
    if (!d->nested_type(i)->options().map_entry()) render_message(d->nested_type(i), out);
  }
}

}  // namespace

std::string render_scenario_reference_markdown() {
  pb::FileDescriptorSet set;
  if (!set.ParseFromArray(kScenarioDescriptorSet, static_cast<int>(kScenarioDescriptorSetSize))) {
    return "error: the embedded scenario descriptor set is corrupt\n";
  }
  pb::DescriptorPool pool;
  const pb::FileDescriptor* file = nullptr;
  std::string header;
  for (const pb::FileDescriptorProto& fdp : set.file()) {
    const pb::FileDescriptor* built = pool.BuildFile(fdp);
    if (built != nullptr && fdp.name() == kScenarioProto) {
      file = built;
      // The file's opening comment sits before `syntax` (field 12 of FileDescriptorProto).
      for (const auto& location : fdp.source_code_info().location()) {
        if (location.path_size() == 1 && location.path(0) == 12) {
          for (const auto& detached : location.leading_detached_comments())
            header += detached;
          header += location.leading_comments();
        }
      }
    }
  }
  if (file == nullptr) return "error: scenario.proto missing from the embedded descriptor set\n";
  std::ostringstream out;
  out << "# Scenario file reference\n\n";
  out << "<!-- Generated from scenarios/proto/scenario.proto by `ingresslab schema --markdown`. "
         "Do not edit: change the .proto comments and regenerate. -->\n\n";
  out << paragraph(header) << "\n";
  out << "Units: a *duration* takes `250us`, `1.5ms`, `2s`, `1m`, `1h` (bare numbers are "
         "seconds); a *size* takes `512B`, `64KiB`, `1.5MiB`, `1.2MB` (bare numbers are bytes); "
         "a *rate* takes `2000/s`, `120/min`, `2k/s`; a *ratio* takes `99.9%` or `0.999`; a "
         "*bandwidth* takes `10Gbps`, `125MB/s`; *cores* take `500m` or `1.5`.\n\n";
  for (int i = 0; i < file->message_type_count(); ++i)
    render_message(file->message_type(i), out);
  return out.str();
}

}  // namespace ingresslab::scenarios
