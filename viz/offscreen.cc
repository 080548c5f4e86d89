#include "viz/offscreen.h"

#include <QtCore/QByteArray>
#include <QtCore/QCoreApplication>
#include <QtWidgets/QApplication>
#include <cstdio>

namespace ingresslab::viz {
namespace {

// QApplication keeps references to argc and argv for its lifetime.
int g_argc = 1;
char g_arg0[] = "ingresslab";
char* g_argv[] = {g_arg0, nullptr};

QtMessageHandler g_previous_handler = nullptr;

// Qt's chatter on a headless host is not the user's business: drop debug/info messages and the
// XDG_RUNTIME_DIR complaint (Qt falls back to a private directory, which is fine for drawing).
void quiet_message_handler(QtMsgType type, const QMessageLogContext& context,
                           const QString& message) {
  if (type == QtDebugMsg || type == QtInfoMsg) return;
  if (message.startsWith(QLatin1String("QStandardPaths: XDG_RUNTIME_DIR"))) return;
  if (g_previous_handler != nullptr) {
    g_previous_handler(type, context, message);
  } else {
    std::fprintf(stderr, "%s\n", qUtf8Printable(message));
  }
}

}  // namespace

OffscreenApplication::OffscreenApplication() {
  if (QCoreApplication::instance() != nullptr) return;
  // Rendering to SVG needs no window system: even when a display is set, connecting to it would
  // only add a way to fail (a stale DISPLAY over ssh aborts QApplication).
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  g_previous_handler = qInstallMessageHandler(quiet_message_handler);
  app_ = std::make_unique<QApplication>(g_argc, g_argv);
}

OffscreenApplication::~OffscreenApplication() {
  if (app_ == nullptr) return;
  app_.reset();
  qInstallMessageHandler(g_previous_handler);
}

}  // namespace ingresslab::viz
