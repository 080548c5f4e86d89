#include "realproxy/config/yaml_documents.h"

#include <yaml-cpp/eventhandler.h>

#include <exception>
#include <optional>
#include <sstream>

namespace ingresslab::realproxy {
namespace {

// Finds a document that starts where the previous one did (see the header).
class DocumentProgress : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    stuck_ = mark.pos <= last_pos_;
    last_pos_ = mark.pos;
    mark_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  bool stuck() const { return stuck_; }
  const YAML::Mark& mark() const { return mark_; }

 private:
  int last_pos_ = -1;
  bool stuck_ = false;
  YAML::Mark mark_;
};

// Where LoadAll would loop forever on `text`, if anywhere. Throws what yaml-cpp's parser throws.
std::optional<YAML::Mark> find_stuck_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentProgress progress;
  while (parser.HandleNextDocument(progress)) {
    if (progress.stuck()) return progress.mark();
  }
  return std::nullopt;
}

}  // namespace

bool expands_beyond(const YAML::Node& node, size_t budget) {
  size_t count = 0;
  std::vector<YAML::Node> stack{node};
  while (!stack.empty()) {
    const YAML::Node n = stack.back();
    stack.pop_back();
    if (++count > budget) return true;
    if (n.IsSequence()) {
      for (const YAML::Node& child : n)
        stack.push_back(child);
    } else if (n.IsMap()) {
      for (const auto& entry : n) {
        stack.push_back(entry.first);
        stack.push_back(entry.second);
      }
    }
  }
  return false;
}

YamlDocuments load_yaml_documents(std::string_view text) {
  YamlDocuments out;
  const std::string input(text);
  try {
    if (const std::optional<YAML::Mark> stuck = find_stuck_document(input); stuck.has_value()) {
      const auto at = static_cast<size_t>(stuck->pos);
      out.error = "YAML syntax error: unexpected '" +
                  (at < input.size() ? input.substr(at, 1) : std::string()) +
                  "' where a document or value should start";
      out.line = stuck->line + 1;
      out.column = stuck->column + 1;
      return out;
    }
    out.documents = YAML::LoadAll(input);
  } catch (const YAML::Exception& e) {
    out.documents.clear();
    out.error = "YAML syntax error: " + e.msg;
    if (!e.mark.is_null()) {
      out.line = e.mark.line + 1;
      out.column = e.mark.column + 1;
    }
  } catch (const std::exception& e) {
    out.documents.clear();
    out.error = std::string("cannot read YAML: ") + e.what();
  }
  return out;
}

}  // namespace ingresslab::realproxy
