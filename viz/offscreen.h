// A Qt application for drawing without a window. Charts need a QApplication (QChart is a
// QGraphicsWidget); a command-line report must work without a display, so unless the user chose a
// platform (QT_QPA_PLATFORM), the offscreen one is used.
#pragma once

#include <memory>

class QApplication;

namespace ingresslab::viz {

class OffscreenApplication {
 public:
  // Creates the QApplication, unless one exists already (then this object does nothing).
  // REQUIRES: called on the main thread; at most one instance alive at a time.
  OffscreenApplication();
  ~OffscreenApplication();
  OffscreenApplication(const OffscreenApplication&) = delete;
  OffscreenApplication& operator=(const OffscreenApplication&) = delete;

 private:
  std::unique_ptr<QApplication> app_;
};

}  // namespace ingresslab::viz
