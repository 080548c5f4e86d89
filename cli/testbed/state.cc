#include "cli/testbed/state.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ingresslab::testbed {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

Value string_value(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Value number_value(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value string_list(const std::vector<std::string>& items) {
  Value v;
  ListValue* list = v.mutable_list_value();
  for (const auto& s : items)
    *list->add_values() = string_value(s);
  return v;
}

// Reads fields of one JSON object, recording the first type error with its path.
class ObjectReader {
 public:
  ObjectReader(const Struct& object, std::string path, std::string* error)
      : object_(object), path_(std::move(path)), error_(error) {}

  std::string string(const std::string& key) {
    const Value* v = find(key);
    if (v == nullptr) return "";
    if (v->kind_case() != Value::kStringValue) {
      fail(key, "must be a string");
      return "";
    }
    return v->string_value();
  }
  double number(const std::string& key) {
    const Value* v = find(key);
    if (v == nullptr) return 0;
    if (v->kind_case() != Value::kNumberValue) {
      fail(key, "must be a number");
      return 0;
    }
    return v->number_value();
  }
  std::vector<std::string> strings(const std::string& key) {
    std::vector<std::string> out;
    const ListValue* list = this->list(key);
    if (list == nullptr) return out;
    for (int i = 0; i < list->values_size(); ++i) {
      if (list->values(i).kind_case() != Value::kStringValue) {
        fail(key + "[" + std::to_string(i) + "]", "must be a string");
        return out;
      }
      out.push_back(list->values(i).string_value());
    }
    return out;
  }
  const ListValue* list(const std::string& key) {
    const Value* v = find(key);
    if (v == nullptr) return nullptr;
    if (v->kind_case() != Value::kListValue) {
      fail(key, "must be a list");
      return nullptr;
    }
    return &v->list_value();
  }
  const Struct* object(const std::string& key) {
    const Value* v = find(key);
    if (v == nullptr) return nullptr;
    if (v->kind_case() != Value::kStructValue) {
      fail(key, "must be an object");
      return nullptr;
    }
    return &v->struct_value();
  }
  std::string path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  void fail(const std::string& key, const std::string& what) {
    if (error_->empty()) *error_ = path(key) + ": " + what;
  }

 private:
  const Value* find(const std::string& key) const {
    const auto it = object_.fields().find(key);
    return it == object_.fields().end() ? nullptr : &it->second;
  }
  const Struct& object_;
  std::string path_;
  std::string* error_;
};

// Calls fn(reader) for each object element of list `key`.
template <typename Fn>
void for_each_object(ObjectReader& r, const std::string& key, std::string* error, Fn fn) {
  const ListValue* list = r.list(key);
  if (list == nullptr) return;
  for (int i = 0; i < list->values_size(); ++i) {
    const std::string item = key + "[" + std::to_string(i) + "]";
    if (list->values(i).kind_case() != Value::kStructValue) {
      r.fail(item, "must be an object");
      return;
    }
    ObjectReader element(list->values(i).struct_value(), r.path(item), error);
    fn(element);
  }
}

}  // namespace

std::string default_state_dir() {
  const char* env = std::getenv("INGRESSLAB_STATE_DIR");
  if (env != nullptr && *env != '\0') return env;
  return "/run/ingresslab";
}

std::string state_file_path(const std::string& state_dir) {
  return state_dir + "/testbed.json";
}

std::string state_to_json(const TestbedState& s) {
  Value root;
  auto& f = *root.mutable_struct_value()->mutable_fields();
  f["scenario"] = string_value(s.scenario);
  f["kube_proxy_mode"] = string_value(s.kube_proxy_mode);
  f["client_netns"] = string_value(s.client_netns);
  Value entries;
  entries.mutable_list_value();
  for (const auto& e : s.entries) {
    Value v;
    auto& ef = *v.mutable_struct_value()->mutable_fields();
    ef["node"] = string_value(e.node);
    ef["address"] = string_value(e.address);
    ef["http_url"] = string_value(e.http_url);
    ef["https_url"] = string_value(e.https_url);
    *entries.mutable_list_value()->add_values() = v;
  }
  f["entries"] = entries;
  f["not_emulated"] = string_list(s.not_emulated);
  f["admin_urls"] = string_list(s.admin_urls);
  f["namespaces"] = string_list(s.namespaces);
  Value links;
  links.mutable_list_value();
  for (const auto& l : s.links) {
    Value v;
    auto& lf = *v.mutable_struct_value()->mutable_fields();
    lf["name"] = string_value(l.name);
    lf["netns"] = string_value(l.netns);
    *links.mutable_list_value()->add_values() = v;
  }
  f["links"] = links;
  Value pids;
  pids.mutable_list_value();
  for (const auto& p : s.pids) {
    Value v;
    auto& pf = *v.mutable_struct_value()->mutable_fields();
    pf["pid"] = number_value(p.pid);
    pf["start_time"] = number_value(static_cast<double>(p.start_time));
    pf["role"] = string_value(p.role);
    pf["name"] = string_value(p.name);
    pf["netns"] = string_value(p.netns);
    pf["ip"] = string_value(p.ip);
    pf["port"] = number_value(p.port);
    pf["node"] = string_value(p.node);
    *pids.mutable_list_value()->add_values() = v;
  }
  f["pids"] = pids;
  Value rules;
  auto& rf = *rules.mutable_struct_value()->mutable_fields();
  for (const auto& [netns, sets] : s.rules)
    rf[netns] = string_list(sets);
  f["rules"] = rules;
  f["work_dir"] = string_value(s.work_dir);
  f["phase"] = string_value(s.phase);

  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(root, &out, options);
  return out;
}

std::optional<TestbedState> state_from_json(std::string_view json, std::string* error) {
  Value root;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &root);
  if (!status.ok()) {
    *error = "not valid JSON: " + std::string(status.message());
    return std::nullopt;
  }
  if (root.kind_case() != Value::kStructValue) {
    *error = "the top level must be a JSON object";
    return std::nullopt;
  }
  error->clear();
  TestbedState s;
  ObjectReader r(root.struct_value(), "", error);
  s.scenario = r.string("scenario");
  s.kube_proxy_mode = r.string("kube_proxy_mode");
  s.client_netns = r.string("client_netns");
  for_each_object(r, "entries", error, [&](ObjectReader& e) {
    s.entries.push_back(
        {e.string("node"), e.string("address"), e.string("http_url"), e.string("https_url")});
  });
  s.not_emulated = r.strings("not_emulated");
  s.admin_urls = r.strings("admin_urls");
  s.namespaces = r.strings("namespaces");
  for_each_object(r, "links", error, [&](ObjectReader& l) {
    s.links.push_back({l.string("name"), l.string("netns")});
  });
  for_each_object(r, "pids", error, [&](ObjectReader& p) {
    ProcessRecord rec;
    rec.pid = static_cast<int>(p.number("pid"));
    rec.start_time = static_cast<uint64_t>(p.number("start_time"));
    rec.role = p.string("role");
    rec.name = p.string("name");
    rec.netns = p.string("netns");
    rec.ip = p.string("ip");
    rec.port = static_cast<int>(p.number("port"));
    rec.node = p.string("node");
    if (rec.pid <= 1) p.fail("pid", "must be a process id > 1");
    s.pids.push_back(rec);
  });
  if (const Struct* rules = r.object("rules")) {
    ObjectReader rr(*rules, "rules", error);
    for (const auto& [netns, unused] : rules->fields())
      s.rules[netns] = rr.strings(netns);
  }
  s.work_dir = r.string("work_dir");
  s.phase = r.string("phase");
  if (!error->empty()) return std::nullopt;
  return s;
}

bool write_state_file(const std::string& path, const TestbedState& state, std::string* error) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) {
      *error = "cannot create " + p.parent_path().string() + ": " + ec.message();
      return false;
    }
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << state_to_json(state);
    out.flush();
    if (!out) {
      *error = "cannot write " + tmp + ": " + std::strerror(errno);
      return false;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    *error = "cannot rename " + tmp + " to " + path + ": " + ec.message();
    return false;
  }
  return true;
}

std::optional<TestbedState> read_state_file(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = path + ": no testbed is up (cannot open the state file: " + std::strerror(errno) + ")";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string why;
  auto state = state_from_json(text.str(), &why);
  if (!state) *error = path + ": " + why;
  return state;
}

}  // namespace ingresslab::testbed
