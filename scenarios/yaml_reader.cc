#include "scenarios/yaml_reader.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "scenarios/proto/options.pb.h"
#include "scenarios/proto/scenario.pb.h"
#include "scenarios/units.h"

namespace ingresslab::scenarios {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const FD* find_field(const pb::Descriptor* d, const std::string& key) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    if (f->name() == key || f->json_name() == key || f->camelcase_name() == key) return f;
  }
  return nullptr;
}

std::string unknown_field_message(const pb::Descriptor* d, const std::string& key) {
  std::string best;
  size_t best_distance = 3;  // suggest only close matches
  std::string names;
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    for (const std::string& candidate : {f->name(), f->json_name()}) {
      const size_t dist = edit_distance(lower(key), lower(candidate));
      if (dist < best_distance) {
        best_distance = dist;
        best = f->name();
      }
    }
    if (!names.empty()) names += ", ";
    names += f->name();
  }
  std::string msg = "unknown field '" + key + "'";
  if (!best.empty()) return msg + " (did you mean '" + best + "'?)";
  return msg + " (" + d->name() + " has: " + names + ")";
}

bool is_distribution(const pb::Descriptor* d) {
  return d == scenario::Distribution::descriptor();
}
bool is_duration(const pb::Descriptor* d) {
  return d == pb::Duration::descriptor();
}

scenario::Unit field_unit(const FD* f, scenario::Unit context) {
  const scenario::Unit u = f->options().GetExtension(scenario::unit);
  return u == scenario::FROM_CONTEXT ? context : u;
}

Parsed parse_with_unit(scenario::Unit unit, std::string_view text) {
  switch (unit) {
    case scenario::SECONDS:
      return parse_seconds(text);
    case scenario::BYTES:
      return parse_bytes(text);
    case scenario::PER_SECOND:
      return parse_per_second(text);
    case scenario::RATIO:
      return parse_ratio(text);
    case scenario::BITS_PER_SECOND:
      return parse_bits_per_second(text);
    case scenario::CORES:
      return parse_cores(text);
    default:
      return parse_number(text);
  }
}

template <class Int>
std::string parse_int(std::string_view text, Int* out) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if constexpr (std::is_unsigned_v<Int>) {
    if (!text.empty() && text.front() == '-')
      return "must be >= 0, got '" + std::string(text) + "'";
  }
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (ec == std::errc::result_out_of_range) {
    return "out of range for " + std::string(sizeof(Int) == 4 ? "32" : "64") + "-bit integer: '" +
           std::string(text) + "'";
  }
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return "expected an integer, got '" + std::string(text) + "'";
  }
  return {};
}

// A field path, built only when a problem is reported: `base`, or `base[index]` for an element
// of a list of plain values.
struct ElementPath {
  const std::string& base;
  int index = -1;
  std::string str() const { return index < 0 ? base : base + "[" + std::to_string(index) + "]"; }
};

// Diagnostics one read reports; the rest are counted (see Walker::finish).
constexpr size_t kMaxReportedErrors = 200;

class Walker {
 public:
  Walker(const YamlReadOptions& options, Diagnostics* diagnostics, SourceMap* source_map)
      : options_(options), diagnostics_(diagnostics), source_map_(source_map) {}

  bool ok() const { return ok_; }

  static SourcePosition position(const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return {};
    return {m.line + 1, m.column + 1};
  }

  void error(const YAML::Node& n, const std::string& path, std::string message) {
    ok_ = false;
    if (++errors_ > kMaxReportedErrors) return;  // counted; summarised by finish()
    if (diagnostics_ != nullptr) {
      diagnostics_->error(options_.file, position(n), path, std::move(message));
    }
  }

  // Whether the next error is shown (see finish()).
  bool reporting() const { return errors_ < kMaxReportedErrors; }

  // One mistake repeated through YAML aliases can be met at thousands of paths: past
  // kMaxReportedErrors errors, the rest are only counted and summed up here.
  void finish(const YAML::Node& root) {
    if (errors_ <= kMaxReportedErrors || diagnostics_ == nullptr) return;
    diagnostics_->error(options_.file, position(root), options_.path_prefix,
                        std::to_string(errors_ - kMaxReportedErrors) +
                            " more problems not shown (the first " +
                            std::to_string(kMaxReportedErrors) + " are)");
  }

  void record(const std::string& path, const YAML::Node& n) {
    if (source_map_ != nullptr) source_map_->record(path, options_.file, position(n));
  }

  bool count_node(const YAML::Node& n, const std::string& path) {
    if (++nodes_ > options_.max_nodes) {
      if (!node_limit_reported_) {
        error(n, path,
              "document too large: more than " + std::to_string(options_.max_nodes) +
                  " values (aliases expanding exponentially?)");
        node_limit_reported_ = true;
      }
      return false;
    }
    return true;
  }

  // Elements of a list of plain values are counted apart, all of a list at once.
  bool count_list_values(const YAML::Node& list, const std::string& path) {
    list_values_ += list.size();
    if (list_values_ > options_.max_list_values) {
      if (!list_limit_reported_) {
        error(list, path,
              "document too large: more than " + std::to_string(options_.max_list_values) +
                  " list values (aliases expanding exponentially?)");
        list_limit_reported_ = true;
      }
      return false;
    }
    return true;
  }

  void read_message(const YAML::Node& n, pb::Message* msg, const std::string& path, int depth,
                    scenario::Unit context) {
    if (!count_node(n, path)) return;
    if (depth > options_.max_depth) {
      error(n, path,
            "nested too deeply (more than " + std::to_string(options_.max_depth) + " levels)");
      return;
    }
    const pb::Descriptor* d = msg->GetDescriptor();
    if (n.IsNull()) return;  // `field:` with no value: an empty message, like JSON null
    if (is_duration(d) && n.IsScalar()) {
      read_duration(n, static_cast<pb::Duration*>(msg), path);
      return;
    }
    if (is_distribution(d) && n.IsScalar()) {
      read_distribution_shorthand(n, static_cast<scenario::Distribution*>(msg), path, context);
      return;
    }
    if (!n.IsMap()) {
      error(n, path,
            std::string("expected a mapping (the fields of ") + d->name() + "), got " +
                yaml_node_kind(n));
      return;
    }
    std::set<int> seen;
    std::map<const pb::OneofDescriptor*, const FD*> oneof_set;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        error(key, path,
              std::string("a field name must be a plain word, got ") + yaml_node_kind(key));
        continue;
      }
      const std::string name = key.Scalar();
      const std::string field_path = path.empty() ? name : path + "." + name;
      const FD* f = find_field(d, name);
      if (f == nullptr) {
        if (!options_.ignore_unknown_fields) {
          // The suggestion costs an edit distance per field: only for messages shown.
          error(key, field_path, reporting() ? unknown_field_message(d, name) : std::string());
        }
        continue;
      }
      const std::string canonical = path.empty() ? f->name() : path + "." + f->name();
      if (!seen.insert(f->number()).second) {
        error(key, canonical, "field given twice");
        continue;
      }
      if (const pb::OneofDescriptor* o = f->real_containing_oneof(); o != nullptr) {
        auto [pos, inserted] = oneof_set.emplace(o, f);
        if (!inserted) {
          error(key, canonical,
                "only one of the '" + o->name() + "' choices may be set, but both '" +
                    pos->second->name() + "' and '" + f->name() + "' are");
          continue;
        }
      }
      record(canonical, key);
      read_field(value, msg, f, canonical, depth, context);
    }
  }

  void read_field(const YAML::Node& value, pb::Message* msg, const FD* f, const std::string& path,
                  int depth, scenario::Unit context) {
    const pb::Reflection* r = msg->GetReflection();
    const scenario::Unit unit = field_unit(f, context);
    if (f->is_map()) {
      read_map(value, msg, f, path, depth);
      return;
    }
    if (f->is_repeated()) {
      if (value.IsNull()) return;
      if (!value.IsSequence()) {
        error(value, path, std::string("expected a list, got ") + yaml_node_kind(value));
        return;
      }
      if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
        int index = 0;
        for (const YAML::Node& element : value) {
          const std::string element_path = path + "[" + std::to_string(index++) + "]";
          record(element_path, element);
          read_message(element, r->AddMessage(msg, f), element_path, depth + 1,
                       unit == scenario::UNIT_NONE ? context : unit);
        }
        return;
      }
      // Plain values (Empirical.samples may hold millions): no path or map entry per element
      // unless it is wrong; their positions go to the source map as one list.
      if (!count_list_values(value, path)) return;
      std::vector<SourcePosition> positions;
      positions.reserve(value.size());
      int index = 0;
      for (const YAML::Node& element : value) {
        positions.push_back(position(element));
        read_scalar(element, msg, f, ElementPath{path, index++}, unit, /*repeated=*/true);
      }
      if (source_map_ != nullptr) {
        source_map_->record_list(path, options_.file, std::move(positions));
      }
      return;
    }
    if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
      read_message(value, r->MutableMessage(msg, f), path, depth + 1,
                   unit == scenario::UNIT_NONE ? context : unit);
      return;
    }
    read_scalar(value, msg, f, ElementPath{path}, unit, /*repeated=*/false);
  }

  void read_map(const YAML::Node& value, pb::Message* msg, const FD* f, const std::string& path,
                int depth) {
    if (value.IsNull()) return;
    if (!value.IsMap()) {
      error(value, path, std::string("expected a mapping, got ") + yaml_node_kind(value));
      return;
    }
    const pb::Descriptor* entry = f->message_type();
    const FD* key_field = entry->map_key();
    const FD* value_field = entry->map_value();
    const pb::Reflection* r = msg->GetReflection();
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!count_node(it->second, path)) return;
      if (!it->first.IsScalar()) {
        error(it->first, path,
              std::string("a key must be a scalar, got ") + yaml_node_kind(it->first));
        continue;
      }
      const std::string key = it->first.Scalar();
      const std::string entry_path = path + "[" + key + "]";
      record(entry_path, it->first);
      pb::Message* e = r->AddMessage(msg, f);
      e->GetReflection()->SetString(e, key_field, key);
      if (value_field->cpp_type() == FD::CPPTYPE_MESSAGE) {
        read_message(it->second, e->GetReflection()->MutableMessage(e, value_field), entry_path,
                     depth + 1, scenario::UNIT_NONE);
      } else {
        read_scalar(it->second, e, value_field, ElementPath{entry_path}, scenario::UNIT_NONE,
                    /*repeated=*/false);
      }
    }
  }

  void read_scalar(const YAML::Node& n, pb::Message* msg, const FD* f, const ElementPath& at,
                   scenario::Unit unit, bool repeated) {
    if (!repeated && !count_node(n, at.base)) return;
    if (n.IsNull()) {
      if (repeated) error(n, at.str(), "empty list element");
      return;  // JSON mapping: null means "default"
    }
    if (!n.IsScalar()) {
      error(n, at.str(),
            std::string("expected ") + scalar_expectation(f, unit) + ", got " + yaml_node_kind(n));
      return;
    }
    const std::string& text = n.Scalar();
    const pb::Reflection* r = msg->GetReflection();
    std::string problem;
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
        repeated ? r->AddString(msg, f, text) : r->SetString(msg, f, text);
        break;
      case FD::CPPTYPE_BOOL: {
        const std::string t = lower(std::string(trim(text)));
        bool v = false;
        if (t == "true" || t == "yes" || t == "on") {
          v = true;
        } else if (t == "false" || t == "no" || t == "off") {
          v = false;
        } else {
          problem = "expected true or false, got '" + text + "'";
          break;
        }
        repeated ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
        break;
      }
      case FD::CPPTYPE_INT32: {
        int32_t v = 0;
        if (problem = parse_int(text, &v); problem.empty()) {
          repeated ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
        }
        break;
      }
      case FD::CPPTYPE_INT64: {
        int64_t v = 0;
        if (problem = parse_int(text, &v); problem.empty()) {
          repeated ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
        }
        break;
      }
      case FD::CPPTYPE_UINT32: {
        uint32_t v = 0;
        if (problem = parse_int(text, &v); problem.empty()) {
          repeated ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
        }
        break;
      }
      case FD::CPPTYPE_UINT64: {
        uint64_t v = 0;
        if (problem = parse_int(text, &v); problem.empty()) {
          repeated ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
        }
        break;
      }
      case FD::CPPTYPE_DOUBLE:
      case FD::CPPTYPE_FLOAT: {
        const Parsed p = parse_with_unit(unit, text);
        if (!p.ok()) {
          problem = p.error;
          break;
        }
        if (f->cpp_type() == FD::CPPTYPE_DOUBLE) {
          repeated ? r->AddDouble(msg, f, p.value) : r->SetDouble(msg, f, p.value);
        } else {
          const auto v = static_cast<float>(p.value);
          repeated ? r->AddFloat(msg, f, v) : r->SetFloat(msg, f, v);
        }
        break;
      }
      case FD::CPPTYPE_ENUM: {
        const pb::EnumValueDescriptor* v = find_enum_value(f->enum_type(), text);
        if (v == nullptr) {
          problem = "unknown value '" + text + "' (expected one of: " + enum_choices(f) + ")";
          break;
        }
        repeated ? r->AddEnum(msg, f, v) : r->SetEnum(msg, f, v);
        break;
      }
      case FD::CPPTYPE_MESSAGE:
        problem = "internal: message field read as scalar";
        break;
    }
    if (!problem.empty()) error(n, at.str(), problem);
  }

  void read_duration(const YAML::Node& n, pb::Duration* d, const std::string& path) {
    const Parsed p = parse_seconds(n.Scalar());
    if (!p.ok()) {
      error(n, path, p.error);
      return;
    }
    if (std::fabs(p.value) > 315'576'000'000.0) {  // the range of google.protobuf.Duration
      error(n, path, "duration out of range (more than 10000 years)");
      return;
    }
    const double whole = std::trunc(p.value);
    d->set_seconds(static_cast<int64_t>(whole));
    d->set_nanos(static_cast<int32_t>(std::llround((p.value - whole) * 1e9)));
  }

  // `2ms` (constant), `constant 2ms`, `exponential 2ms`; numbers in the unit of the field that
  // holds the distribution.
  void read_distribution_shorthand(const YAML::Node& n, scenario::Distribution* dist,
                                   const std::string& path, scenario::Unit unit) {
    const std::string_view text = trim(n.Scalar());
    const size_t space = text.find(' ');
    const std::string kind = lower(std::string(text.substr(0, space)));
    const std::string_view rest = space == std::string_view::npos ? "" : trim(text.substr(space));
    if (space == std::string_view::npos || kind.empty() || std::isdigit(kind[0]) ||
        kind[0] == '.' || kind[0] == '-') {
      const Parsed p = parse_with_unit(unit, text);
      if (!p.ok()) {
        return error(n, path,
                     p.error +
                         " (or write a distribution, e.g. 'exponential 2ms' or "
                         "{lognormal: {mean: 2ms, p99: 10ms}})");
      }
      dist->set_constant(p.value);
      return;
    }
    const Parsed p = parse_with_unit(unit, rest);
    if (!p.ok()) return error(n, path, p.error);
    if (kind == "constant") {
      dist->set_constant(p.value);
    } else if (kind == "exponential" || kind == "exp") {
      dist->mutable_exponential()->set_mean(p.value);
    } else {
      error(n, path,
            "unknown distribution shorthand '" + kind +
                "': write 'constant X', 'exponential X', or a mapping such as "
                "{lognormal: {mean: 2ms, p99: 10ms}}");
    }
  }

  static const pb::EnumValueDescriptor* find_enum_value(const pb::EnumDescriptor* e,
                                                        const std::string& text) {
    std::string wanted;
    for (char c : trim(text))
      wanted += (c == '-') ? '_' : static_cast<char>(std::toupper(c));
    const pb::EnumValueDescriptor* v = e->FindValueByName(wanted);
    if (v == nullptr || v->number() == 0) return nullptr;  // *_UNSPECIFIED is not a choice
    return v;
  }

  static std::string enum_choices(const FD* f) {
    std::string out;
    for (int i = 0; i < f->enum_type()->value_count(); ++i) {
      const pb::EnumValueDescriptor* v = f->enum_type()->value(i);
      if (v->number() == 0) continue;
      if (!out.empty()) out += ", ";
      out += lower(v->name());
    }
    return out;
  }

  static std::string scalar_expectation(const FD* f, scenario::Unit unit) {
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
        return "a string";
      case FD::CPPTYPE_BOOL:
        return "true or false";
      case FD::CPPTYPE_ENUM:
        return "one of: " + enum_choices(f);
      case FD::CPPTYPE_DOUBLE:
      case FD::CPPTYPE_FLOAT:
        switch (unit) {
          case scenario::SECONDS:
            return "a duration";
          case scenario::BYTES:
            return "a size";
          case scenario::PER_SECOND:
            return "a rate";
          case scenario::RATIO:
            return "a fraction or percentage";
          default:
            return "a number";
        }
      default:
        return "an integer";
    }
  }

 private:
  const YamlReadOptions& options_;
  Diagnostics* diagnostics_;
  SourceMap* source_map_;
  int nodes_ = 0;
  bool node_limit_reported_ = false;
  size_t list_values_ = 0;
  bool list_limit_reported_ = false;
  size_t errors_ = 0;
  bool ok_ = true;
};

}  // namespace

bool read_yaml_message(const YAML::Node& node, google::protobuf::Message* message,
                       const YamlReadOptions& options, Diagnostics* diagnostics,
                       SourceMap* source_map) {
  Walker w(options, diagnostics, source_map);
  try {
    w.record(options.path_prefix, node);
    w.read_message(node, message, options.path_prefix, 0, scenario::UNIT_NONE);
  } catch (const YAML::Exception& e) {
    w.error(node, options.path_prefix, std::string("cannot read YAML: ") + e.what());
  }
  w.finish(node);
  return w.ok();
}

}  // namespace ingresslab::scenarios

namespace ingresslab::scenarios {
namespace {

struct PathComponent {
  std::string name;
  bool has_key = false;
  std::string key;
};

// Splits `a.b[key].c` into components; '.' inside brackets belongs to the key.
std::string split_path(const std::string& path, std::vector<PathComponent>* out) {
  PathComponent current;
  size_t i = 0;
  while (i <= path.size()) {
    const char c = i < path.size() ? path[i] : '.';
    if (c == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string::npos) return "unclosed '[' in field path '" + path + "'";
      current.has_key = true;
      current.key = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (i < path.size() && path[i] != '.') {
        return "expected '.' after ']' in field path '" + path + "'";
      }
      continue;
    }
    if (c == '.') {
      if (current.name.empty()) return "empty component in field path '" + path + "'";
      out->push_back(std::move(current));
      current = {};
    } else {
      current.name += c;
    }
    ++i;
  }
  return {};
}

// The element of repeated message field `f` selected by `key`: a position, or the element whose
// `name` or `metadata.name` equals key.
pb::Message* find_element(pb::Message* m, const FD* f, const std::string& key) {
  const pb::Reflection* r = m->GetReflection();
  const int size = r->FieldSize(*m, f);
  if (!key.empty() && std::all_of(key.begin(), key.end(), ::isdigit)) {
    const long index = std::strtol(key.c_str(), nullptr, 10);
    return index < size ? r->MutableRepeatedMessage(m, f, static_cast<int>(index)) : nullptr;
  }
  for (int i = 0; i < size; ++i) {
    pb::Message* e = r->MutableRepeatedMessage(m, f, i);
    const pb::Descriptor* d = e->GetDescriptor();
    if (const FD* name = d->FindFieldByName("name");
        name != nullptr && name->cpp_type() == FD::CPPTYPE_STRING && !name->is_repeated() &&
        e->GetReflection()->GetString(*e, name) == key) {
      return e;
    }
    if (const FD* meta = d->FindFieldByName("metadata");
        meta != nullptr && meta->cpp_type() == FD::CPPTYPE_MESSAGE) {
      const pb::Message& md = e->GetReflection()->GetMessage(*e, meta);
      if (const FD* n = md.GetDescriptor()->FindFieldByName("name");
          n != nullptr && md.GetReflection()->GetString(md, n) == key) {
        return e;
      }
    }
  }
  return nullptr;
}

// The first problem of reading an assigned value, as "path: message": the value's own text has
// no file, and a line and column in it would only mislead.
std::string path_and_message(const Diagnostics& d) {
  const Diagnostic& first = d.items().front();
  return first.field_path.empty() ? first.message : first.field_path + ": " + first.message;
}

}  // namespace

std::string assign_field_path(google::protobuf::Message* message, const std::string& path,
                              const std::string& value) {
  std::vector<PathComponent> parts;
  if (std::string e = split_path(path, &parts); !e.empty()) return e;
  if (parts.empty()) return "empty field path";
  pb::Message* m = message;
  scenario::Unit context = scenario::UNIT_NONE;
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const PathComponent& p = parts[i];
    const bool last = i + 1 == parts.size();
    const FD* f = find_field(m->GetDescriptor(), p.name);
    const std::string here = walked.empty() ? p.name : walked + "." + p.name;
    if (f == nullptr) return here + ": " + unknown_field_message(m->GetDescriptor(), p.name);
    if (scenario::Unit u = field_unit(f, context); u != scenario::UNIT_NONE) context = u;
    const pb::Reflection* r = m->GetReflection();
    if (p.has_key) {
      if (!f->is_repeated() || f->cpp_type() != FD::CPPTYPE_MESSAGE || f->is_map()) {
        return here + ": [" + p.key + "] can only select an element of a list of objects";
      }
      pb::Message* e = find_element(m, f, p.key);
      if (e == nullptr) return here + ": no element '" + p.key + "'";
      walked = here + "[" + p.key + "]";
      if (last) {
        f = nullptr;
        m = e;
        // Assigning a whole element: replace it.
        YAML::Node node;
        try {
          node = YAML::Load(value);
        } catch (const YAML::Exception& ex) {
          return walked + ": cannot read value '" + value + "': " + ex.msg;
        }
        pb::Message* fresh = e->New();
        Diagnostics d;
        YamlReadOptions o;
        o.path_prefix = walked;
        const bool ok = read_yaml_message(node, fresh, o, &d, nullptr);
        if (ok) e->CopyFrom(*fresh);
        delete fresh;
        return ok ? std::string() : path_and_message(d);
      }
      m = e;
      continue;
    }
    if (!last) {
      if (f->cpp_type() != FD::CPPTYPE_MESSAGE) return here + ": is not an object";
      if (f->is_repeated()) {
        return here + ": is a list; select an element, e.g. " + p.name + "[0] or " + p.name +
               "[<name>]";
      }
      m = r->MutableMessage(m, f);
      walked = here;
      continue;
    }
    // The last component: parse the value as YAML and read it into a cleared field.
    YAML::Node node;
    try {
      node = YAML::Load(value);
    } catch (const YAML::Exception& ex) {
      return here + ": cannot read value '" + value + "': " + ex.msg;
    }
    Diagnostics d;
    YamlReadOptions o;
    Walker w(o, &d, nullptr);
    std::unique_ptr<pb::Message> scratch(m->New());
    scratch->CopyFrom(*m);
    scratch->GetReflection()->ClearField(scratch.get(), f);
    if (f->real_containing_oneof() != nullptr) {
      scratch->GetReflection()->ClearOneof(scratch.get(), f->real_containing_oneof());
    }
    w.read_field(node, scratch.get(), f, here, 0, context);
    if (!w.ok()) return d.items().empty() ? here + ": invalid value" : path_and_message(d);
    m->CopyFrom(*scratch);
    return {};
  }
  return {};
}

namespace {

bool type_has_defaults(const pb::Descriptor* d,
                       std::unordered_map<const pb::Descriptor*, bool>* memo) {
  if (auto it = memo->find(d); it != memo->end()) return it->second;
  (*memo)[d] = false;  // cycle guard
  bool any = false;
  for (int i = 0; i < d->field_count() && !any; ++i) {
    const FD* f = d->field(i);
    if (f->options().HasExtension(scenario::default_value)) any = true;
    if (f->cpp_type() == FD::CPPTYPE_MESSAGE && !f->is_map() &&
        f->real_containing_oneof() == nullptr && type_has_defaults(f->message_type(), memo)) {
      any = true;
    }
  }
  (*memo)[d] = any;
  return any;
}

void fill_defaults(pb::Message* m, scenario::Unit context,
                   std::unordered_map<const pb::Descriptor*, bool>* memo) {
  const pb::Descriptor* d = m->GetDescriptor();
  const pb::Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    if (f->is_map()) continue;
    scenario::Unit unit = field_unit(f, context);
    if (unit == scenario::UNIT_NONE) unit = context;
    if (f->is_repeated()) {
      if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
        for (int k = 0; k < r->FieldSize(*m, f); ++k) {
          fill_defaults(r->MutableRepeatedMessage(m, f, k), unit, memo);
        }
      }
      continue;
    }
    const bool present = r->HasField(*m, f);
    if (!present && f->options().HasExtension(scenario::default_value)) {
      if (f->real_containing_oneof() != nullptr) continue;
      YamlReadOptions o;
      o.file = "<default>";
      Walker w(o, nullptr, nullptr);
      const YAML::Node node(f->options().GetExtension(scenario::default_value));
      w.read_field(node, m, f, f->name(), 0, unit);
    }
    if (f->cpp_type() == FD::CPPTYPE_MESSAGE && f->message_type() != pb::Duration::descriptor()) {
      if (r->HasField(*m, f)) {
        fill_defaults(r->MutableMessage(m, f), unit, memo);
      } else if (f->real_containing_oneof() == nullptr &&
                 type_has_defaults(f->message_type(), memo)) {
        fill_defaults(r->MutableMessage(m, f), unit, memo);
      }
    }
  }
}

}  // namespace

void apply_defaults(google::protobuf::Message* message) {
  std::unordered_map<const pb::Descriptor*, bool> memo;
  fill_defaults(message, scenario::UNIT_NONE, &memo);
}

}  // namespace ingresslab::scenarios

namespace ingresslab::scenarios {

const char* yaml_node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "an undefined value";
  }
}

}  // namespace ingresslab::scenarios
