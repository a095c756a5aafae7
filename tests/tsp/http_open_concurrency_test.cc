// Experiments open outside the service lock: while one experiment's open is
// paused (ServiceOptions::on_open holds it at a gate the test releases),
// other requests are answered, another experiment opens and serves its
// outputs, and a delete of the same experiment waits for the open and then
// leaves nothing behind. No timing: the gate decides the order.
#include <condition_variable>
#include <mutex>
#include <set>

#include "tests/tsp/http_fixture.h"

namespace vmtrace::tsp::testing {
namespace {

// Pauses the first experiment open that reaches it until Release(); later
// opens pass.
class OpenGate {
 public:
  // The service's on_open hook: every open passes here.
  void Hook(const std::string& uuid) {
    std::unique_lock<std::mutex> lock(mu_);
    if (released_ || !paused_.empty()) return;  // pause the first open only
    paused_ = uuid;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  }
  // Waits until an open is paused at the gate; false after a minute (the
  // open never came: the test fails instead of hanging).
  bool WaitPaused() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(1),
                        [this] { return !paused_.empty(); });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::string paused() {
    std::lock_guard<std::mutex> lock(mu_);
    return paused_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string paused_;
  bool released_ = false;
};

class HttpOpenConcurrencyTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    StopServer();
    gate_ = std::make_shared<OpenGate>();
    service_options_.on_open = [gate = gate_](const std::string& uuid) {
      gate->Hook(uuid);
    };
    StartServer();
    trace_ = AddTrace(TestData(kTrace), "kernel")["UUID"];
  }
  void TearDown() override {
    gate_->Release();  // never leave an open paused (the server joins it)
    for (auto& t : threads_) t.join();
    HttpTest::TearDown();
  }

  using Reply = std::shared_ptr<httplib::Result>;

  // POST /experiments `name` on its own connection and thread; the reply
  // is set once the thread is joined.
  Reply PostExperimentAsync(const std::string& name) {
    const std::string body =
        Json{{"parameters", {{"name", name}, {"traces", {trace_}}}}}.dump();
    auto out = std::make_shared<httplib::Result>(
        std::unique_ptr<httplib::Response>(), httplib::Error::Unknown);
    threads_.emplace_back([port = server_->port(), body, out] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(120, 0);
      *out =
          c.Post(std::string(kApi) + "/experiments", body, "application/json");
    });
    return out;
  }
  // DELETE /experiments/{uuid}, the same way.
  Reply DeleteExperimentAsync(const std::string& uuid) {
    auto out = std::make_shared<httplib::Result>(
        std::unique_ptr<httplib::Response>(), httplib::Error::Unknown);
    threads_.emplace_back([port = server_->port(), uuid, out] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(120, 0);
      *out = c.Delete(std::string(kApi) + "/experiments/" + uuid);
    });
    return out;
  }
  void JoinAll() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::shared_ptr<OpenGate> gate_;
  std::string trace_;
  std::vector<std::thread> threads_;
};

TEST_F(HttpOpenConcurrencyTest, RequestsAreAnsweredWhileAnExperimentOpens) {
  Reply slow = PostExperimentAsync("slow");
  ASSERT_TRUE(gate_->WaitPaused());

  // The open is paused in the middle: the server still answers.
  auto health = Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto traces = Get("/traces");
  ASSERT_TRUE(traces);
  EXPECT_EQ(traces->status, 200);
  // The registered experiment is listed, closed until its open completes.
  Json list = Body(Get("/experiments"));
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["name"], "slow");
  EXPECT_EQ(list[0]["UUID"], gate_->paused());
  EXPECT_EQ(list[0]["indexingStatus"], "CLOSED");

  // Another experiment opens, indexes and serves its outputs meanwhile.
  Json fast = AddExperiment("fast", {trace_});
  Json done = WaitIndexed(fast["UUID"]);
  EXPECT_EQ(done["indexingStatus"], "COMPLETED");
  Json outputs = Body(Get(Outputs(fast["UUID"])));
  EXPECT_GE(outputs.size(), 2u);
  Json page = Lines(fast["UUID"], {{"requested_table_index", 0},
                                   {"requested_table_count", 3}});
  EXPECT_EQ(page["lines"].size(), 3u);

  gate_->Release();
  JoinAll();
  ASSERT_TRUE(*slow);
  EXPECT_EQ((*slow)->status, 200) << (*slow)->body;
  Json opened = Body(*slow);
  EXPECT_EQ(opened["name"], "slow");
  EXPECT_EQ(WaitIndexed(opened["UUID"])["indexingStatus"], "COMPLETED");
}

TEST_F(HttpOpenConcurrencyTest, DeleteOfAnOpeningExperimentWaitsForTheOpen) {
  Reply slow = PostExperimentAsync("slow");
  ASSERT_TRUE(gate_->WaitPaused());
  const std::string uuid = gate_->paused();

  // The delete waits for the paused open (same experiment), on its own
  // connection; the open holds that experiment's lock from before the gate
  // to its end, so the delete runs after it whatever the scheduling.
  Reply deleted = DeleteExperimentAsync(uuid);
  auto health = Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  gate_->Release();
  JoinAll();
  ASSERT_TRUE(*slow);
  EXPECT_EQ((*slow)->status, 200) << (*slow)->body;
  ASSERT_TRUE(*deleted);
  EXPECT_EQ((*deleted)->status, 200) << (*deleted)->body;
  // Nothing is left: not listed, no store, and it can be added again.
  EXPECT_EQ(Body(Get("/experiments")).size(), 0u);
  EXPECT_FALSE(fs::exists(data_dir_ / "experiments" / uuid));
  Json again = AddExperiment("slow", {trace_});
  EXPECT_EQ(again["UUID"], uuid);
  EXPECT_EQ(WaitIndexed(uuid)["indexingStatus"], "COMPLETED");
}

}  // namespace
}  // namespace vmtrace::tsp::testing
